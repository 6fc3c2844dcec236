//! Tenant-bound Cognito admin operations (feature `admin`).
