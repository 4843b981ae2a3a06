//! Voicemail end to end over loopback: an unanswered call to a registered
//! user lands in the user's mailbox, the message is recorded and stored,
//! the owner logs in by RFC 4733 keys, hears it and deletes it; and the
//! PIN lockout, full mailbox and wrong mailbox cases.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use mediaplane::codec::{new_decoder, new_encoder, resample::resample, CodecKind};
use mediaplane::config::{Config, MailboxConfig, UserConfig};
use mediaplane::loadgen::simple_sdp::{sdp_offer, OfferFormat, SdpAnswer};
use mediaplane::loadgen::ua::{Call, TestUserAgent, UaConfig};

use common::callee::Callee;
use common::keypad::{KeyStyle, Keypad};
use common::subscriber::{authorization, body, status, Phone, Subscribe};
use common::TestServer;

const WAIT: Duration = Duration::from_secs(5);
const RATE: u32 = 8000;
const PIN: &str = "4321";

fn mailbox(number: &str, owner: Option<&str>) -> MailboxConfig {
    MailboxConfig {
        number: number.into(),
        pin: PIN.into(),
        owner: owner.map(Into::into),
        email: None,
        greeting: None,
        max_messages: 100,
        max_message_s: 60,
    }
}

fn user(name: &str) -> UserConfig {
    UserConfig {
        name: name.into(),
        password: Some(format!("{name}-pw")),
        ha1_md5: None,
        ha1_sha256: None,
        max_contacts: None,
        no_answer_ms: Some(1000),
    }
}

/// A server with user alice owning mailbox 1001, and mailbox 1002.
async fn voicemail_server(tweak: impl FnOnce(&mut Config)) -> TestServer {
    TestServer::start(|c| {
        c.users = vec![user("alice"), user("bob")];
        c.mailboxes = vec![mailbox("1001", Some("alice")), mailbox("1002", None)];
        tweak(c);
    })
    .await
}

/// Speech made by espeak-ng at 8 kHz.
fn speech(text: &str) -> Vec<i16> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("speech.wav");
    let status = std::process::Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "150", "-w"])
        .arg(&path)
        .arg(text)
        .status()
        .expect("espeak-ng runs (scripts/test installs it)");
    assert!(status.success());
    let mut reader = hound::WavReader::open(&path).unwrap();
    let rate = reader.spec().sample_rate;
    let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    resample(&samples, rate, RATE).unwrap()
}

/// What the far end hears of `pcm` after one PCMU encode and decode.
fn through_pcmu(pcm: &[i16]) -> Vec<i16> {
    let mut encoder = new_encoder(CodecKind::Pcmu).unwrap();
    let mut decoder = new_decoder(CodecKind::Pcmu).unwrap();
    let mut out = Vec::new();
    for frame in pcm.chunks(160) {
        let mut bytes = [0u8; 200];
        let n = encoder.encode(frame, &mut bytes).unwrap();
        let mut decoded = [0i16; 960];
        let k = decoder.decode(&bytes[..n], &mut decoded).unwrap();
        out.extend_from_slice(&decoded[..k]);
    }
    out
}

/// The best normalised correlation of `needle` inside `haystack` over
/// every offset (a recording starts a little before or after the speech).
fn best_correlation(haystack: &[i16], needle: &[i16]) -> f64 {
    let norm = |s: &[i16]| s.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
    let needle_norm = norm(needle);
    let mut best = 0.0f64;
    if haystack.len() < needle.len() {
        return 0.0;
    }
    for offset in 0..=haystack.len() - needle.len() {
        let window = &haystack[offset..offset + needle.len()];
        let dot: f64 = window
            .iter()
            .zip(needle)
            .map(|(&a, &b)| f64::from(a) * f64::from(b))
            .sum();
        let denominator = norm(window) * needle_norm;
        if denominator > 0.0 {
            best = best.max(dot / denominator);
        }
    }
    best
}

/// How much of `sent` is found in `heard`: the share of its loud 250 ms
/// pieces that each correlate above `threshold` somewhere in `heard`. Piece
/// by piece, because the playout buffer may drop or add quiet frames,
/// which shifts what follows.
fn share_found(heard: &[i16], sent: &[i16], threshold: f64) -> f64 {
    let pieces: Vec<&[i16]> = sent
        .chunks_exact(RATE as usize / 4)
        .filter(|piece| {
            let mean_square =
                piece.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / piece.len() as f64;
            mean_square > 1e5
        })
        .collect();
    assert!(pieces.len() >= 4, "enough speech to compare");
    let found = pieces
        .iter()
        .filter(|piece| best_correlation(heard, piece) > threshold)
        .count();
    found as f64 / pieces.len() as f64
}

/// Goertzel power of `hz` in `samples`, relative to their energy.
fn tone_share(samples: &[i16], hz: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * hz / f64::from(RATE);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &x in samples {
        let s = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = (s1 * s1 + s2 * s2 - coeff * s1 * s2) / samples.len() as f64;
    let energy: f64 = samples.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>();
    if energy == 0.0 {
        0.0
    } else {
        2.0 * power / energy
    }
}

/// Whether the last 200 ms heard hold the 1 kHz beep.
fn beep_heard(heard: &[i16]) -> bool {
    heard
        .len()
        .checked_sub(2000)
        .map(|start| &heard[start..])
        .is_some_and(|tail| tail.chunks(400).any(|w| tone_share(w, 1000.0) > 0.8))
}

/// A call from `from_user` to `to_user`, answered, with a keypad on its media.
async fn dial(
    server: &TestServer,
    from_user: &str,
    to_user: &str,
) -> (Keypad, Call, TestUserAgent) {
    let config = UaConfig {
        user: from_user.into(),
        ..UaConfig::default()
    };
    let ua = TestUserAgent::bind_udp_with(server.sip_addr(), config)
        .await
        .unwrap();
    let event_pt = OfferFormat::new(CodecKind::TelephoneEvent).payload_type;
    let mut keypad = Keypad::bind(CodecKind::Pcmu, 0, event_pt).await;
    let offer = sdp_offer(keypad.addr(), &[CodecKind::Pcmu, CodecKind::TelephoneEvent]);
    let uri = format!("sip:{to_user}@{}", server.sip_addr());
    let call = ua.invite(&uri, &offer).await.expect("answered");
    let answer = SdpAnswer::parse(&String::from_utf8_lossy(
        call.final_response().unwrap().body(),
    ))
    .unwrap();
    keypad.connect(answer.rtp_addr());
    (keypad, call, ua)
}

fn inbox(server: &TestServer, mailbox: &str) -> PathBuf {
    server
        .data_dir()
        .join("voicemail")
        .join(mailbox)
        .join("INBOX")
}

fn files_with(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    files
}

fn read_wav(path: &Path) -> (u32, Vec<i16>) {
    let mut reader = hound::WavReader::open(path).unwrap();
    let rate = reader.spec().sample_rate;
    (rate, reader.samples::<i16>().map(Result::unwrap).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_call_leaves_a_message_that_the_owner_hears_and_deletes() {
    let server = voicemail_server(|_| {}).await;
    // Alice's phone registers, then rings without answering.
    let phone = Callee::bind(CodecKind::Pcmu).await;
    phone.register(server.sip_addr(), "alice", "alice-pw").await;
    // Alice's desk phone watches her mailbox's message-waiting state.
    let lamp = Phone::new(&server).await;
    let mut subscribe = Subscribe::new("alice", "mwi-e2e");
    lamp.send(&subscribe.render(&lamp)).await;
    let challenged = lamp.response("SUBSCRIBE").await;
    subscribe.cseq = 2;
    subscribe.extra = authorization(&challenged, &subscribe.uri(&lamp), "alice", "alice-pw");
    lamp.send(&subscribe.render(&lamp)).await;
    assert_eq!(status(&lamp.response("SUBSCRIBE").await), 200);
    let first = lamp.notify().await;
    assert!(body(&first).contains("Messages-Waiting: no"), "{first}");

    let ua = TestUserAgent::bind_udp_with(
        server.sip_addr(),
        UaConfig {
            user: "1002".into(),
            ..UaConfig::default()
        },
    )
    .await
    .unwrap();
    let event_pt = OfferFormat::new(CodecKind::TelephoneEvent).payload_type;
    let mut caller = Keypad::bind(CodecKind::Pcmu, 0, event_pt).await;
    let offer = sdp_offer(caller.addr(), &[CodecKind::Pcmu, CodecKind::TelephoneEvent]);
    let uri = format!("sip:alice@{}", server.sip_addr());
    let mut call = ua
        .start_invite(&uri, &offer, &Default::default())
        .await
        .unwrap();
    let invite = phone.expect("INVITE", WAIT).await;
    phone
        .respond(&invite, 180, "Ringing", Some("ring1"), None)
        .await;
    // No answer within 1 s: the fork is cancelled, the caller answered by
    // the mailbox.
    phone.accept_cancel(&invite, "ring1").await;
    let ok = call.wait_final(WAIT).await.unwrap();
    assert_eq!(ok.status_code(), Some(200));
    let answer = SdpAnswer::parse(&ok.body_text()).unwrap();
    caller.connect(answer.rtp_addr());

    // The greeting, then the beep; then the message and #.
    assert!(
        caller
            .listen_until(Duration::from_secs(15), beep_heard)
            .await,
        "the beep after the greeting"
    );
    let words = speech("Hello Alice, this is a test message about the quarterly report.");
    caller.speak(&words).await;
    caller.press("#", KeyStyle::Rfc4733).await;
    caller.listen(Duration::from_millis(300)).await;

    let dir = inbox(&server, "1001");
    let found = common::wait_for(WAIT, || async { files_with(&dir, "json").len() == 1 }).await;
    assert!(found, "one message in {}", dir.display());
    let json_path = &files_with(&dir, "json")[0];
    let ok = common::wait_for(WAIT, || async {
        std::fs::read_to_string(json_path)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .is_some_and(|meta| meta["complete"] == true)
    })
    .await;
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json_path).unwrap()).unwrap();
    assert!(ok, "message completed: {meta}");
    assert_eq!(meta["caller"], "1002");
    assert_eq!(meta["called"], "1001");
    assert_eq!(meta["codec"], "PCMU");
    assert_eq!(meta["rate_hz"], 8000);
    let duration_ms = meta["duration_ms"].as_u64().unwrap();
    let spoken_ms = words.len() as u64 * 1000 / u64::from(RATE);
    assert!(
        duration_ms >= spoken_ms && duration_ms < spoken_ms + 2000,
        "{duration_ms} ms recorded for {spoken_ms} ms spoken"
    );
    let wav_path = json_path.with_extension("wav");
    let (rate, recorded) = read_wav(&wav_path);
    assert_eq!(rate, RATE);
    let sent = through_pcmu(&words);
    // Most pieces come back sample for sample (correlation 1.0); those
    // where the playout buffer adjusted its delay less so.
    let found = share_found(&recorded, &sent, 0.95);
    assert!(found >= 0.7, "the recording holds the speech: {found}");
    call.wait_bye(WAIT)
        .await
        .expect("the mailbox hangs up after saving");
    let lit = lamp.notify().await;
    assert!(body(&lit).contains("Messages-Waiting: yes"), "{lit}");
    assert!(body(&lit).contains("Voice-Message: 1/0"), "{lit}");

    // Alice calls voicemail: PIN by RFC 4733, 1 for new messages.
    let (mut owner, mut owner_call, _ua) = dial(&server, "alice", "voicemail").await;
    owner.listen(Duration::from_millis(500)).await;
    owner.press(&format!("{PIN}#"), KeyStyle::Rfc4733).await;
    owner.listen(Duration::from_millis(300)).await;
    owner.press("1", KeyStyle::Rfc4733).await;
    let start = owner.heard.len();
    // Checked once a second of new audio (the search is costly).
    let mut checked = start + sent.len();
    let heard_message = owner
        .listen_until(Duration::from_secs(20), |heard| {
            if heard.len() < checked + RATE as usize {
                return false;
            }
            checked = heard.len();
            share_found(&heard[start..], &sent, 0.9) >= 0.7
        })
        .await;
    assert!(heard_message, "the owner hears the message");
    // Listening moved it to Old: the lamp goes out, one old message left.
    let old = server.data_dir().join("voicemail/1001/Old");
    assert_eq!(files_with(&old, "wav").len(), 1);
    assert!(files_with(&dir, "wav").is_empty());
    let heard = lamp.notify().await;
    assert!(body(&heard).contains("Messages-Waiting: no"), "{heard}");
    assert!(body(&heard).contains("Voice-Message: 0/1"), "{heard}");
    owner.press("7", KeyStyle::Rfc4733).await;
    let gone = lamp.notify().await;
    assert!(body(&gone).contains("Voice-Message: 0/0"), "{gone}");
    assert!(files_with(&old, "wav").is_empty(), "7 deletes the message");
    assert!(files_with(&old, "json").is_empty());
    owner.press("#", KeyStyle::Rfc4733).await;
    owner_call.wait_bye(WAIT).await.expect("# leaves");
    assert!(server.ports_released().await);
    server.stop().await;
}
