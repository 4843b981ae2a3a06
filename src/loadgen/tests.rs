//! The load generator against the scripted fake server, over loopback.

use super::fake_uas::{FakeUas, FakeUasConfig};
use super::*;
use clap::Parser;

fn args_for(fake_addr: SocketAddr, calls: u32, duration_s: f64) -> LoadgenArgs {
    LoadgenArgs {
        calls,
        duration_s,
        rate: 100.0,
        ..LoadgenArgs::new(format!("sip:echo@{fake_addr}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_echo_calls_report_no_loss_and_low_latency() {
    let fake = FakeUas::start(FakeUasConfig::default()).await;
    let args = args_for(fake.udp_addr, 20, 2.0);
    let started = Instant::now();
    let report = run(&args).await.unwrap();
    // 2 s of media, 0.19 s ramp-up, the echo tail and the BYEs.
    assert!(started.elapsed() < Duration::from_secs(4), "{report}");

    assert_eq!(report.calls_attempted, 20);
    assert_eq!(report.calls_set_up, 20, "{report}");
    assert_eq!(report.calls_failed, 0);
    assert!(report.failures.is_empty());
    assert_eq!(report.byes_completed, 20);
    // 2 s at 50 packets per second, give or take the first frame's rounding.
    let per_call = report.packets_sent / 20;
    assert!((98..=100).contains(&per_call), "{report}");
    assert_eq!(report.packets_received, report.packets_sent, "{report}");
    assert_eq!(report.packets_lost, 0);
    assert_eq!(report.loss_percent, 0.0);
    assert_eq!(report.echoes_matched, report.packets_sent);
    assert_eq!(report.echo_loss_percent, Some(0.0));
    assert_eq!(report.late_packets, 0);
    let rtt = report.round_trip_ms.unwrap();
    assert_eq!(rtt.samples as u64, report.packets_sent);
    assert!(rtt.p50_ms < 20.0 && rtt.p99_ms < 80.0, "{report}");
    assert!(rtt.p50_ms <= rtt.p95_ms && rtt.p95_ms <= rtt.p99_ms && rtt.p99_ms <= rtt.max_ms);
    let setup = report.setup_time_ms.unwrap();
    assert_eq!(setup.samples, 20);
    let jitter = report.jitter_ms.unwrap();
    assert_eq!(jitter.calls, 20);
    assert!(jitter.mean_ms < 10.0, "{report}");
    let json: serde_json::Value = serde_json::from_str(&report.to_json().unwrap()).unwrap();
    assert_eq!(json["calls_set_up"], 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pcma_over_tcp() {
    let fake = FakeUas::start(FakeUasConfig::default()).await;
    let args = LoadgenArgs {
        codec: vec![LoadCodec::Pcma],
        transport: LoadTransport::Tcp,
        ..args_for(fake.tcp_addr, 3, 0.5)
    };
    let report = run(&args).await.unwrap();
    assert_eq!(report.calls_set_up, 3, "{report}");
    assert_eq!(report.codec, "PCMA");
    assert_eq!(report.transport, "tcp");
    assert_eq!(report.echo_loss_percent, Some(0.0), "{report}");
    assert_eq!(report.byes_completed, 3);
}

#[tokio::test]
async fn rejections_are_counted_by_status() {
    let fake = FakeUas::start(FakeUasConfig {
        reject_with: Some((486, "Busy Here")),
        ..FakeUasConfig::default()
    })
    .await;
    let report = run(&args_for(fake.udp_addr, 4, 0.5)).await.unwrap();
    assert_eq!(report.calls_set_up, 0);
    assert_eq!(report.calls_failed, 4);
    assert_eq!(report.failures.get("486"), Some(&4));
    assert_eq!(report.packets_sent, 0);
    assert!(report.round_trip_ms.is_none());
}

#[tokio::test]
async fn server_hangup_is_reported() {
    let fake = FakeUas::start(FakeUasConfig {
        bye_after: Some(Duration::from_millis(200)),
        ..FakeUasConfig::default()
    })
    .await;
    let started = Instant::now();
    let report = run(&args_for(fake.udp_addr, 2, 5.0)).await.unwrap();
    // The calls end with the server's BYE, long before their 5 s.
    assert!(started.elapsed() < Duration::from_secs(2), "{report}");
    assert_eq!(report.calls_set_up, 2);
    assert_eq!(report.calls_ended_by_remote, 2, "{report}");
    assert_eq!(report.byes_completed, 0);
}

#[tokio::test]
async fn a_silent_server_cannot_hold_the_run_past_its_deadline() {
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let args = LoadgenArgs {
        grace_s: 1.0,
        ..args_for(silent.local_addr().unwrap(), 2, 0.3)
    };
    let started = Instant::now();
    let report = run(&args).await.unwrap();
    // Deadline: 0.01 s ramp-up + 0.3 s + 1 s grace.
    assert!(started.elapsed() < Duration::from_millis(1800), "{report}");
    assert_eq!(report.calls_failed, 2);
    assert_eq!(report.failures.get("timeout"), Some(&2));
}

#[tokio::test]
async fn invalid_arguments_are_rejected() {
    let base = LoadgenArgs::new("sip:echo@127.0.0.1:5060");
    for bad in [
        LoadgenArgs {
            calls: 0,
            ..base.clone()
        },
        LoadgenArgs {
            rate: 0.0,
            ..base.clone()
        },
        LoadgenArgs {
            duration_s: f64::NAN,
            ..base.clone()
        },
        LoadgenArgs {
            target: "http://x".into(),
            ..base.clone()
        },
    ] {
        assert!(matches!(
            run(&bad).await,
            Err(LoadgenError::InvalidArgument(_))
        ));
    }
}

#[test]
fn target_uris_give_host_and_port() {
    let parse = |t: &str| target_host_port(t).unwrap();
    assert_eq!(
        parse("sip:echo@127.0.0.1:5070"),
        ("127.0.0.1".to_string(), 5070)
    );
    assert_eq!(
        parse("sip:echo@example.com;transport=udp"),
        ("example.com".to_string(), 5060)
    );
    assert_eq!(parse("sips:[::1]:5061"), ("::1".to_string(), 5061));
    assert_eq!(parse("sip:a:b@host:7"), ("host".to_string(), 7));
    assert!(target_host_port("sip:echo@").is_err());
    assert!(target_host_port("sip:echo@h:99999").is_err());
    assert!(target_host_port("tel:123").is_err());
}

#[derive(clap::Parser)]
struct Cli {
    #[command(flatten)]
    args: LoadgenArgs,
}

#[test]
fn command_line_parses() {
    let cli = Cli::try_parse_from([
        "loadgen",
        "sip:echo@127.0.0.1:5060",
        "--calls",
        "200",
        "--duration-s",
        "30",
        "--rate",
        "20",
        "--codec",
        "pcma",
        "--transport",
        "tcp",
        "--json",
    ])
    .unwrap();
    assert_eq!(cli.args.calls, 200);
    assert_eq!(cli.args.duration_s, 30.0);
    assert_eq!(cli.args.rate, 20.0);
    assert_eq!(cli.args.codec, vec![LoadCodec::Pcma]);
    assert_eq!(cli.args.transport, LoadTransport::Tcp);
    assert!(cli.args.json);
    let defaults = Cli::try_parse_from(["loadgen", "sip:echo@h"]).unwrap().args;
    assert_eq!(defaults.calls, DEFAULT_CALLS);
    assert_eq!(defaults.late_ms, DEFAULT_LATE_MS);
    assert_eq!(defaults.codec, vec![LoadCodec::Pcmu]);
}

#[test]
fn spread_targets_number_the_user_part() {
    use super::spread_target;
    assert_eq!(
        spread_target("sip:conf-r@127.0.0.1:5060", 7),
        "sip:conf-r-7@127.0.0.1:5060"
    );
    assert_eq!(spread_target("sip:127.0.0.1", 2), "sip:127.0.0.1-2");
}

#[tokio::test]
async fn an_srtp_stream_protects_what_it_sends_and_checks_what_it_receives() {
    use super::rtp::{RtpStream, RtpStreamOptions};
    use crate::media::srtp::{CryptoAttribute, Negotiated, SrtpSuite};
    use tokio::net::UdpSocket;

    // An echo that keeps a copy of what it saw on the wire.
    let echo = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let echo_addr = echo.local_addr().unwrap();
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let task = tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = echo.recv_from(&mut buf).await {
            let _ = seen_tx.send(buf[..n].to_vec());
            let _ = echo.send_to(&buf[..n], from).await;
        }
    });
    // The echo returns our own packets, so the peer's key is ours.
    let key = CryptoAttribute::generate(1, SrtpSuite::AES_CM_128_HMAC_SHA1_80).unwrap();
    let negotiated = Negotiated {
        local: key.clone(),
        remote: key,
    };
    let mut stream = RtpStream::bind(RtpStreamOptions::new(CodecKind::Pcmu))
        .await
        .unwrap();
    stream.set_remote(echo_addr);
    stream.set_srtp(&negotiated).unwrap();
    for _ in 0..10 {
        stream.send_tagged_frame().await.unwrap();
    }
    stream
        .wait_for_packets(10, Duration::from_secs(2))
        .await
        .unwrap();
    let counters = stream.counters();
    assert_eq!(counters.echoes_matched, 10, "{counters:?}");
    assert_eq!(counters.unauthenticated, 0);

    // On the wire: 12 octets of header, 160 of ciphertext, a 10-octet tag;
    // nothing of the payload in clear (a tone frame repeats its codes).
    let wire = seen.recv().await.unwrap();
    assert_eq!(wire.len(), 12 + 160 + 10);
    let payload = &wire[12..172];
    assert!(payload.windows(2).filter(|w| w[0] == w[1]).count() < 10);

    // A flipped bit fails authentication and is counted, not recorded.
    let mut tampered = seen.recv().await.unwrap();
    tampered[40] ^= 1;
    let stranger = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    stranger
        .send_to(&tampered, stream.local_addr())
        .await
        .unwrap();
    let counted = async {
        while stream.counters().unauthenticated == 0 {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(2), counted)
        .await
        .unwrap();
    assert_eq!(stream.counters().packets_received, 10);
    task.abort();
}
