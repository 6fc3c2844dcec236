//! `--metrics-bind ADDR` of the examples: every metric as Prometheus text at `GET /metrics` on
//! ADDR, from `metrics-exporter-prometheus`.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use http::header::CONTENT_TYPE;
use metrics_exporter_prometheus::PrometheusBuilder;

/// Installs the Prometheus recorder as the global recorder and serves it on `addr`. Call it
/// before building the `CognitoAuth`: the crate keeps the counter handles it takes from the
/// recorder in force when it first uses them.
pub async fn serve(addr: SocketAddr) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot bind --metrics-bind {addr}: {e}"))?;
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| format!("cannot install the Prometheus recorder: {e}"))?;
    // Without an exporter task, the histogram summaries are only compacted by upkeep.
    let upkeep = handle.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            upkeep.run_upkeep();
        }
    });
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let text = handle.render();
            async move { ([(CONTENT_TYPE, "text/plain; version=0.0.4")], text) }
        }),
    );
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            tracing::error!(error = %err, "metrics endpoint stopped");
        }
    });
    if cfg!(feature = "metrics") {
        tracing::info!(%addr, "metrics at GET /metrics");
    } else {
        tracing::warn!(
            %addr,
            "metrics at GET /metrics, but this build lacks cargo feature `metrics`: \
             cognito_authz records nothing (add --features metrics)"
        );
    }
    Ok(())
}
