//! Music on hold in a bridged call: while the caller holds the callee
//! (RFC 3264 §8.4), the callee hears the configured prompt in a loop, and
//! the caller again once it resumes.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use mediaplane::codec::{new_decoder, CodecKind};
use mediaplane::config::{Application, Config, RouteConfig};
use mediaplane::loadgen::simple_sdp::{sdp_offer, SdpAnswer};
use mediaplane::loadgen::ua::{Call, TestUserAgent};
use mediaplane::prompts::PromptCatalogue;
use tokio::net::UdpSocket;
use tokio::time::Instant;

use common::bridging::{bob, with_direction, WAIT};
use common::callee::{exchange_tone, tone_purity, Answered, Callee};
use common::{route_first, TestServer};

const RATE: u32 = 8000;

/// A bridged call in PCMU on both legs, answered and acknowledged.
struct HoldCall {
    callee: Callee,
    server: TestServer,
    _ua: TestUserAgent,
    call: Call,
    caller_rtp: UdpSocket,
    offer: String,
    /// Where the caller sends RTP (our answer).
    to_server: SocketAddr,
    server_pt: u8,
    answered: Answered,
}

async fn hold_call(prompts_dir: &Path, moh_prompt: &str) -> HoldCall {
    let callee = Callee::bind(CodecKind::Pcmu).await;
    let target = format!("sip:bob@{}", callee.addr());
    let (dir, moh) = (prompts_dir.to_path_buf(), moh_prompt.to_string());
    let server = TestServer::start(move |c: &mut Config| {
        c.prompts.dir = dir;
        c.media.moh_prompt = moh;
        route_first(c, RouteConfig::new("^bob$", Application::Bridge { target }));
    })
    .await;
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let caller_rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let offer = sdp_offer(caller_rtp.local_addr().unwrap(), &[CodecKind::Pcmu]);
    let uri = bob(&server);
    let (call, answered) = tokio::join!(ua.invite(&uri, &offer), callee.answer(WAIT));
    let call = call.unwrap();
    callee.expect("ACK", WAIT).await;
    let answer = SdpAnswer::parse(&call.final_response().unwrap().body_text()).unwrap();
    HoldCall {
        callee,
        server,
        _ua: ua,
        call,
        caller_rtp,
        offer,
        to_server: answer.rtp_addr(),
        server_pt: answer.payload_type,
        answered,
    }
}

impl HoldCall {
    /// Both talk for a second: each hears the other's tone.
    async fn talk(&self) -> (Vec<i16>, Vec<i16>) {
        tokio::join!(
            exchange_tone(
                &self.caller_rtp,
                CodecKind::Pcmu,
                self.server_pt,
                self.to_server,
                1000.0,
                50
            ),
            exchange_tone(
                &self.callee.rtp,
                CodecKind::Pcmu,
                self.answered.payload_type,
                self.answered.remote_rtp,
                600.0,
                50
            ),
        )
    }

    /// The caller re-INVITEs with `direction`; the callee answers the
    /// relayed offer with `callee_answers`. Returns the relayed offer.
    async fn reinvite(&mut self, direction: &str, callee_answers: &str) -> String {
        let offer = with_direction(&self.offer, direction);
        self.reinvite_with(&offer, callee_answers).await
    }

    async fn reinvite_with(&mut self, offer: &str, callee_answers: &str) -> String {
        let callee = &self.callee;
        let relayed = async {
            let request = callee.expect("INVITE", WAIT).await;
            let body = request.body_text();
            let (sdp, _, _) = callee.answer_sdp(&body, callee_answers);
            callee.respond(&request, 200, "OK", None, Some(&sdp)).await;
            callee.expect("ACK", WAIT).await;
            body
        };
        let (response, body) = tokio::join!(
            self.call
                .request("INVITE", &[], Some(("application/sdp", offer)), WAIT),
            relayed
        );
        assert_eq!(response.unwrap().status_code(), Some(200));
        body
    }

    /// What the callee hears for `duration` while the caller, on hold,
    /// keeps sending its 1000 Hz tone (sendonly allows it).
    async fn callee_hears_during_hold(&self, duration: Duration) -> Heard {
        let frames = (duration.as_millis() / 20) as u32;
        let (_, heard) = tokio::join!(
            exchange_tone(
                &self.caller_rtp,
                CodecKind::Pcmu,
                self.server_pt,
                self.to_server,
                1000.0,
                frames
            ),
            listen(&self.callee.rtp, self.answered.payload_type, duration)
        );
        heard
    }

    async fn end(mut self) {
        self.call.bye(WAIT).await.unwrap();
        self.server.stop().await;
    }
}

/// Audio received and decoded (PCMU), packet by packet.
struct Heard {
    samples: Vec<i16>,
    packets: usize,
}

async fn listen(socket: &UdpSocket, payload_type: u8, duration: Duration) -> Heard {
    let mut decoder = new_decoder(CodecKind::Pcmu).unwrap();
    let (mut buf, mut pcm) = ([0u8; 1500], [0i16; 960]);
    let mut heard = Heard {
        samples: Vec::new(),
        packets: 0,
    };
    let deadline = Instant::now() + duration;
    while let Ok(Ok((len, _))) = tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await
    {
        if len > 12 && buf[1] & 0x7f == payload_type {
            heard.packets += 1;
            let n = decoder.decode(&buf[12..len], &mut pcm).unwrap();
            heard.samples.extend_from_slice(&pcm[..n]);
        }
    }
    heard
}

fn rms(samples: &[i16]) -> f64 {
    let energy: f64 = samples.iter().map(|&s| f64::from(s).powi(2)).sum();
    (energy / samples.len().max(1) as f64).sqrt()
}

/// A prompts folder whose `en/moh.wav` is 0.5 s of 440 Hz at 8 kHz: 220
/// whole cycles, so the loop joins without a click and stays one tone.
fn short_moh_prompts() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("en")).unwrap();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let path = dir.path().join("en/moh.wav");
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..RATE / 2 {
        let t = f64::from(i) / f64::from(RATE);
        let x = 8000.0 * (std::f64::consts::TAU * 440.0 * t).sin();
        writer.write_sample(x as i16).unwrap();
    }
    writer.finalize().unwrap();
    dir
}

#[tokio::test]
async fn the_held_party_hears_the_prompt_looping_until_the_caller_resumes() {
    let prompts = short_moh_prompts();
    let mut call = hold_call(prompts.path(), "moh").await;
    let (_, callee_heard) = call.talk().await;
    assert!(tone_purity(&callee_heard, RATE, 1000.0, 4000) > 0.9);

    // RFC 3264 §8.4: the caller holds; the callee is offered sendonly
    // from our side, so it keeps receiving (the music).
    let relayed = call.reinvite("sendonly", "recvonly").await;
    assert!(relayed.contains("a=sendonly"), "relayed offer:\n{relayed}");
    let heard = call.callee_hears_during_hold(Duration::from_secs(2)).await;
    assert!(heard.packets >= 90, "{} packets in 2 s", heard.packets);
    // Four times round the 0.5 s prompt: 440 Hz all along, never the
    // caller's 1000 Hz, never a silent frame.
    let music = &heard.samples[800..];
    for (i, window) in music.chunks_exact(1600).enumerate() {
        let purity = tone_purity(window, RATE, 440.0, 1600);
        assert!(purity > 0.95, "window {i}: 440 Hz purity {purity:.3}");
        assert!(tone_purity(window, RATE, 1000.0, 1600) < 0.01);
    }
    for (i, frame) in music.chunks_exact(160).enumerate() {
        assert!(rms(frame) > 3000.0, "frame {i} is quiet: {}", rms(frame));
    }

    let relayed = call.reinvite("sendrecv", "sendrecv").await;
    assert!(relayed.contains("a=sendrecv"), "relayed offer:\n{relayed}");
    let (caller_heard, callee_heard) = call.talk().await;
    assert!(tone_purity(&callee_heard, RATE, 1000.0, 4000) > 0.9);
    assert!(tone_purity(&caller_heard, RATE, 600.0, 4000) > 0.9);
    call.end().await;
}

#[tokio::test]
async fn an_inactive_hold_still_gets_the_shipped_music_to_the_held_party() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts");
    let mut call = hold_call(&shipped, "moh").await;
    // Mirrored, `inactive` would stop our RTP to the callee: it is offered
    // sendonly instead.
    let relayed = call.reinvite("inactive", "recvonly").await;
    assert!(relayed.contains("a=sendonly"), "relayed offer:\n{relayed}");
    let heard = listen(
        &call.callee.rtp,
        call.answered.payload_type,
        Duration::from_millis(1500),
    )
    .await;
    assert!(heard.packets >= 65, "{} packets", heard.packets);
    // What arrives is the prompt from its start: correlated with it at
    // some lag within the first quarter second.
    let catalogue = PromptCatalogue::load(&shipped, "en").unwrap();
    let moh = catalogue.get("moh", RATE).unwrap();
    let span = RATE as usize;
    let best = (0..2000)
        .map(|lag| correlation(&heard.samples[lag..lag + span], &moh[..span]))
        .fold(0.0, f64::max);
    assert!(best > 0.9, "correlation with the prompt {best:.3}");
    call.reinvite("sendrecv", "sendrecv").await;
    let (_, callee_heard) = call.talk().await;
    assert!(tone_purity(&callee_heard, RATE, 1000.0, 4000) > 0.9);
    call.end().await;
}

#[tokio::test]
async fn an_old_style_hold_with_a_zero_address_gets_the_music_too() {
    // RFC 3264 §8.4: `c=0.0.0.0` is the hold of RFC 2543.
    let prompts = short_moh_prompts();
    let mut call = hold_call(prompts.path(), "moh").await;
    let hold = call
        .offer
        .replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0")
        .replacen(" 1 IN IP4", " 2 IN IP4", 1);
    assert!(
        hold.contains("c=IN IP4 0.0.0.0") && hold.contains(" 2 IN IP4"),
        "{hold}"
    );
    let relayed = call.reinvite_with(&hold, "recvonly").await;
    assert!(relayed.contains("a=sendonly"), "relayed offer:\n{relayed}");
    let heard = listen(
        &call.callee.rtp,
        call.answered.payload_type,
        Duration::from_secs(1),
    )
    .await;
    assert!(heard.packets >= 40, "{} packets", heard.packets);
    let purity = tone_purity(&heard.samples, RATE, 440.0, 4000);
    assert!(purity > 0.95, "440 Hz purity {purity:.3}");
    // RFC 3264 §8: each new offer has a higher version in o=.
    let resume = call.offer.replacen(" 1 IN IP4", " 3 IN IP4", 1);
    call.reinvite_with(&resume, "sendrecv").await;
    let (_, callee_heard) = call.talk().await;
    assert!(tone_purity(&callee_heard, RATE, 1000.0, 4000) > 0.9);
    call.end().await;
}

/// Normalised cross-correlation of two equally long signals.
fn correlation(a: &[i16], b: &[i16]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum();
    let norm = rms(a) * rms(b) * a.len() as f64;
    if norm == 0.0 {
        0.0
    } else {
        dot / norm
    }
}

#[tokio::test]
async fn without_music_on_hold_the_held_party_hears_nothing() {
    // moh_prompt = "" (silence, as before), and a configured prompt that
    // is missing (silence and a warning): no music either way, the call
    // goes on and resumes.
    let prompts = short_moh_prompts();
    for moh_prompt in ["", "no-such-music"] {
        let mut call = hold_call(prompts.path(), moh_prompt).await;
        call.talk().await;
        let relayed = call.reinvite("sendonly", "recvonly").await;
        assert!(relayed.contains("a=sendonly"), "relayed offer:\n{relayed}");
        let heard = listen(
            &call.callee.rtp,
            call.answered.payload_type,
            Duration::from_secs(1),
        )
        .await;
        assert!(
            heard.packets == 0 || rms(&heard.samples) < 100.0,
            "{moh_prompt:?}: {} packets, rms {}",
            heard.packets,
            rms(&heard.samples)
        );
        call.reinvite("sendrecv", "sendrecv").await;
        let (_, callee_heard) = call.talk().await;
        assert!(tone_purity(&callee_heard, RATE, 1000.0, 4000) > 0.9);
        call.end().await;
    }
}
