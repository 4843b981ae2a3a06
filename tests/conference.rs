//! Conference rooms end to end over loopback: callers with different
//! codecs in one room each hear the others and not themselves.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use mediaplane::codec::CodecKind;
use mediaplane::loadgen::simple_sdp::{sdp_offer, SdpAnswer};
use mediaplane::loadgen::ua::{Call, TestUserAgent};
use tokio::net::UdpSocket;

use common::bridging::all_codecs;
use common::callee::{exchange_tone, tone_purity};
use common::TestServer;

const WAIT: Duration = Duration::from_secs(5);

struct Member {
    codec: CodecKind,
    tone_hz: f64,
    rtp: UdpSocket,
    call: Call,
    payload_type: u8,
    remote: SocketAddr,
    _ua: TestUserAgent,
}

async fn join(server: &TestServer, room: &str, codec: CodecKind, tone_hz: f64) -> Member {
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let offer = sdp_offer(rtp.local_addr().unwrap(), &[codec]);
    let uri = format!("sip:conf-{room}@{}", server.sip_addr());
    let call = ua.invite(&uri, &offer).await.expect("joined");
    let answer = SdpAnswer::parse(&call.final_response().unwrap().body_text()).unwrap();
    assert_eq!(answer.codec, Some(codec));
    Member {
        codec,
        tone_hz,
        rtp,
        call,
        payload_type: answer.payload_type,
        remote: answer.rtp_addr(),
        _ua: ua,
    }
}

/// Three members send their tones for `frames` 20 ms frames; returns what
/// each heard meanwhile.
async fn talk(members: &[Member; 3], frames: u32) -> [Vec<i16>; 3] {
    let (a, b, c) = tokio::join!(
        speak(&members[0], frames),
        speak(&members[1], frames),
        speak(&members[2], frames)
    );
    [a, b, c]
}

async fn speak(m: &Member, frames: u32) -> Vec<i16> {
    exchange_tone(&m.rtp, m.codec, m.payload_type, m.remote, m.tone_hz, frames).await
}

#[tokio::test]
async fn three_callers_with_different_codecs_hear_each_other_and_not_themselves() {
    let server = TestServer::start(|c| c.media.codecs = all_codecs()).await;
    let members = [
        join(&server, "100", CodecKind::Pcmu, 400.0).await,
        join(&server, "100", CodecKind::G722, 700.0).await,
        join(&server, "100", CodecKind::Opus, 1100.0).await,
    ];
    let heard = talk(&members, 100).await;
    for (member, heard) in members.iter().zip(&heard) {
        let rate = member.codec.audio_rate();
        // The last second, past the joins and the queues filling.
        let window = rate as usize;
        assert!(
            heard.len() > window,
            "{:?} heard {} samples",
            member.codec,
            heard.len()
        );
        let own = tone_purity(heard, rate, member.tone_hz, window);
        let shares: Vec<String> = members
            .iter()
            .map(|o| {
                format!(
                    "{} Hz {:.3}",
                    o.tone_hz,
                    tone_purity(heard, rate, o.tone_hz, window)
                )
            })
            .collect();
        eprintln!("{:?} hears {}", member.codec, shares.join(", "));
        assert!(own < 0.01, "{:?} hears itself: {own:.4}", member.codec);
        for other in members.iter().filter(|o| o.tone_hz != member.tone_hz) {
            let share = tone_purity(heard, rate, other.tone_hz, window);
            assert!(
                share > 0.25,
                "{:?} hears {:?} at {:.3} of its audio",
                member.codec,
                other.codec,
                share
            );
        }
    }
    for mut member in members {
        member.call.bye(WAIT).await.unwrap();
    }
    let released = common::wait_for(Duration::from_secs(3), || async {
        server.ports_in_use() == 0
    })
    .await;
    assert!(released, "ports returned after the members left");
    server.stop().await;
}
