//! The HTTP admin API over a real socket: health, calls with per-leg stats,
//! Prometheus metrics.

mod common;

use std::time::Duration;

use mediaplane::codec::CodecKind;
use serde_json::Value;

use common::{call, http_get, metric, wait_for, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_health_and_metrics_follow_a_call() {
    let server = TestServer::start(|_| {}).await;
    let (status, body) = http_get(server.http_addr(), "/health").await;
    assert_eq!(status, 200);
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["rtp_ports_in_use"], 0);

    let mut active = call(&server, "echo", &[CodecKind::Pcma, CodecKind::Pcmu]).await;
    for _ in 0..25 {
        active.rtp.send_tagged_frame().await.unwrap();
    }
    active
        .rtp
        .wait_for_packets(20, Duration::from_secs(2))
        .await
        .unwrap();
    let (status, body) = http_get(server.http_addr(), "/api/v1/calls").await;
    assert_eq!(status, 200);
    let calls: Value = serde_json::from_str(&body).unwrap();
    let legs = calls.as_array().unwrap();
    assert_eq!(legs.len(), 1, "{body}");
    let leg = &legs[0];
    assert_eq!(leg["application"], "echo");
    assert_eq!(
        leg["codec"], "PCMU",
        "our preference order wins over the offer's"
    );
    assert_eq!(leg["call_id"], active.call.call_id());
    assert!(leg["stats"]["rx_packets"].as_u64().unwrap() >= 20, "{leg}");
    assert!(leg["stats"]["tx_packets"].as_u64().unwrap() >= 15, "{leg}");
    assert_eq!(leg["stats"]["rx_garbage"], 0);
    assert_eq!(
        leg["stats"]["playout_target_ms"], 40,
        "a steady stream keeps the configured (least) playout delay as target"
    );
    let delay = leg["stats"]["playout_delay_ms"].as_u64().unwrap();
    assert!(
        (40..=80).contains(&delay),
        "the current delay, from arrival to the end of playout: {leg}"
    );

    let metrics = server.metrics_text().await;
    assert!(metrics.contains("# TYPE mediaplane_calls_started_total counter"));
    assert_eq!(metric(&metrics, "mediaplane_calls_started_total"), 1.0);
    assert_eq!(metric(&metrics, "mediaplane_rtp_ports_in_use"), 1.0);

    active.hang_up().await;
    let emptied = wait_for(Duration::from_secs(3), || async {
        http_get(server.http_addr(), "/api/v1/calls").await.1 == "[]"
    })
    .await;
    assert!(emptied, "no legs after BYE");
    let released = wait_for(Duration::from_secs(3), || async {
        metric(&server.metrics_text().await, "mediaplane_rtp_ports_in_use") == 0.0
    })
    .await;
    assert!(released, "metrics show the ports returned");
    server.stop().await;
}
