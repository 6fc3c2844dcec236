//! Cognito Lambda triggers built from the same tenant and role configuration (feature `lambda`).
