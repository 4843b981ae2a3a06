//! Calls in codecs other than G.711, end to end over loopback.

mod common;

use std::time::Duration;

use mediaplane::codec::{new_decoder, new_encoder, CodecKind};
use mediaplane::loadgen::simple_sdp::{sdp_offer_formats, OfferFormat, SdpAnswer};
use mediaplane::loadgen::ua::TestUserAgent;
use tokio::net::UdpSocket;

use common::TestServer;

fn tone(hz: f64, rate: f64, samples: usize, offset: usize) -> Vec<i16> {
    (offset..offset + samples)
        .map(|i| (8000.0 * (2.0 * std::f64::consts::PI * hz * i as f64 / rate).sin()) as i16)
        .collect()
}

/// What came back from an echo call.
struct Echo {
    timestamps: Vec<u32>,
    sizes: Vec<usize>,
    /// The echoed payloads, in arrival order.
    payloads: Vec<Vec<u8>>,
    /// The decoded echo.
    echoed: Vec<i16>,
    /// The SDP answer, as text.
    answer: String,
}

/// Calls `echo` offering only `codec`, streams a 1 kHz tone for 1.2 s in
/// it, and returns the echoed frames' RTP timestamps, payload sizes and the
/// decoded echo, after checking the answer's payload type.
async fn echo_in(codec: CodecKind, payload_type: u8) -> (Vec<u32>, Vec<usize>, Vec<i16>) {
    let echo = echo_offering(codec, &[OfferFormat::new(codec)], payload_type).await;
    (echo.timestamps, echo.sizes, echo.echoed)
}

/// As [`echo_in`], with the offer's formats spelled out.
async fn echo_offering(codec: CodecKind, formats: &[OfferFormat], payload_type: u8) -> Echo {
    let server = TestServer::start(|c| {
        c.media.codecs = vec![codec, CodecKind::Pcmu, CodecKind::TelephoneEvent]
    })
    .await;
    let rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let offer = sdp_offer_formats(rtp.local_addr().unwrap(), formats);
    let mut call = ua
        .invite(&format!("sip:echo@{}", server.sip_addr()), &offer)
        .await
        .unwrap();
    let final_response = call.final_response().unwrap().body_text();
    let answer = SdpAnswer::parse(&final_response).unwrap();
    assert_eq!(answer.payload_type, payload_type, "{final_response}");
    let rate = codec.audio_rate() as usize;
    let frame = rate / 50;
    let ts_step = codec.clock_rate() / 50;
    let mut encoder = new_encoder(codec).unwrap();
    let mut decoder = new_decoder(codec).unwrap();
    let mut packet = [0u8; 1500];
    let mut buf = [0u8; 1500];
    let (mut echoed, mut timestamps, mut sizes, mut payloads) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut out = vec![0i16; frame];
    let start = tokio::time::Instant::now();
    for n in 0..60u32 {
        let pcm = tone(1000.0, rate as f64, frame, n as usize * frame);
        packet[0] = 0x80;
        packet[1] = payload_type;
        packet[2..4].copy_from_slice(&(n as u16).to_be_bytes());
        packet[4..8].copy_from_slice(&(n * ts_step).to_be_bytes());
        packet[8..12].copy_from_slice(&0x1234u32.to_be_bytes());
        let len = encoder.encode(&pcm, &mut packet[12..]).unwrap();
        rtp.send_to(&packet[..12 + len], answer.rtp_addr())
            .await
            .unwrap();
        tokio::time::sleep_until(start + Duration::from_millis(20 * (n as u64 + 1))).await;
        while let Ok((len, _)) = rtp.try_recv_from(&mut buf) {
            assert_eq!(buf[1] & 0x7f, payload_type);
            timestamps.push(u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]));
            sizes.push(len - 12);
            payloads.push(buf[12..len].to_vec());
            assert_eq!(decoder.decode(&buf[12..len], &mut out).unwrap(), frame);
            echoed.extend_from_slice(&out);
        }
    }
    call.bye(Duration::from_secs(3)).await.unwrap();
    server.stop().await;
    assert!(
        timestamps.len() >= 50,
        "echoed frames: {}",
        timestamps.len()
    );
    assert!(
        timestamps
            .windows(2)
            .all(|w| w[1].wrapping_sub(w[0]) == ts_step),
        "timestamps advance by {ts_step} per 20 ms"
    );
    Echo {
        timestamps,
        sizes,
        payloads,
        echoed,
        answer: final_response,
    }
}

/// The steady part of an echoed 1 kHz tone: its zero-crossing rate per
/// second and its RMS level.
fn tone_check(echoed: &[i16], rate: usize) -> (f64, f64) {
    let steady = &echoed[rate / 5..echoed.len() - rate / 50];
    let crossings = steady
        .windows(2)
        .filter(|w| (w[0] < 0) != (w[1] < 0))
        .count();
    let per_second = crossings as f64 * rate as f64 / steady.len() as f64;
    let rms =
        (steady.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / steady.len() as f64).sqrt();
    (per_second, rms)
}

/// G.722 carries 16 kHz audio on an 8000 Hz RTP clock (RFC 3551 §4.5.2):
/// the echo comes back as PT 9, 160-byte frames with timestamps +160, and
/// the caller's 1 kHz tone at full level.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g722_echo_keeps_wideband_audio_and_the_8000_hz_clock() {
    let (_, sizes, echoed) = echo_in(CodecKind::G722, 9).await;
    assert!(
        sizes.iter().all(|&s| s == 160),
        "20 ms of G.722 is 160 bytes"
    );
    let (crossings, rms) = tone_check(&echoed, 16000);
    assert!(
        (1900.0..2100.0).contains(&crossings),
        "zero crossings per second: {crossings}"
    );
    assert!(rms > 8000.0 / 2f64.sqrt() * 0.8, "echo level {rms}");
}

/// Opus (RFC 7587): 48 kHz clock, a dynamic payload type, the tone kept
/// through the server's decode and re-encode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opus_echo_keeps_the_tone_on_the_48_khz_clock() {
    let (_, sizes, echoed) = echo_in(CodecKind::Opus, 111).await;
    assert!(
        sizes.iter().all(|&s| (10..400).contains(&s)),
        "Opus frame sizes {sizes:?}"
    );
    let (crossings, rms) = tone_check(&echoed, 48000);
    assert!(
        (1900.0..2100.0).contains(&crossings),
        "zero crossings per second: {crossings}"
    );
    assert!(rms > 8000.0 / 2f64.sqrt() * 0.6, "echo level {rms}");
}

/// L16 (RFC 3551 §4.5.11) at both rates: two octets per sample, and since
/// nothing is lossy the echo holds exactly the samples sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l16_echo_returns_the_very_samples_sent() {
    for (codec, pt) in [(CodecKind::L16At16000, 113), (CodecKind::L16At8000, 112)] {
        let rate = codec.audio_rate() as usize;
        let frame = rate / 50;
        let echo = echo_offering(codec, &[OfferFormat::new(codec)], pt).await;
        assert!(
            echo.answer
                .contains(&format!("a=rtpmap:{pt} L16/{rate}\r\n")),
            "{}",
            echo.answer
        );
        assert!(
            echo.sizes.iter().all(|&s| s == 2 * frame),
            "20 ms of L16 at {rate} Hz is {} bytes: {:?}",
            2 * frame,
            echo.sizes
        );
        // Every frame sent is a stretch of one continuous tone; an echoed
        // frame that is not silence must be one of them, sample for sample.
        let sent = tone(1000.0, rate as f64, 60 * frame, 0);
        let exact = echo
            .echoed
            .chunks_exact(frame)
            .filter(|f| sent.chunks_exact(frame).any(|s| s == *f))
            .count();
        assert!(
            exact >= 45,
            "{exact} echoed frames at {rate} Hz match a sent frame exactly"
        );
        let (crossings, _) = tone_check(&echo.echoed, rate);
        assert!(
            (1900.0..2100.0).contains(&crossings),
            "zero crossings per second: {crossings}"
        );
    }
}

/// An Opus offer asking for FEC (RFC 7587 §6.1) gets our fmtp asking for
/// FEC in return, telephone-event on the 48 kHz clock, and an echo whose
/// packets carry FEC data for the frame before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opus_with_fec_fmtp_is_answered_in_kind_and_sent_with_fec() {
    let formats = [
        OfferFormat::new(CodecKind::Opus).with_fmtp("useinbandfec=1; stereo=0"),
        OfferFormat::new(CodecKind::TelephoneEvent),
        OfferFormat::at(CodecKind::TelephoneEvent, 110, 48_000),
    ];
    let echo = echo_offering(CodecKind::Opus, &formats, 111).await;
    let answer = echo.answer;
    assert!(answer.contains("m=audio "), "{answer}");
    assert!(
        answer.contains(" RTP/AVP 111 110\r\n"),
        "Opus with the 48 kHz events: {answer}"
    );
    assert!(
        answer.contains("a=rtpmap:110 telephone-event/48000\r\n"),
        "{answer}"
    );
    assert!(
        answer.contains(
            "a=fmtp:111 useinbandfec=1; maxplaybackrate=48000; stereo=0; sprop-stereo=0\r\n"
        ),
        "{answer}"
    );
    // The server encodes with FEC: rebuilding an echoed frame from the
    // next packet's redundancy differs from plain concealment, which is
    // what a decoder does with a packet that carries none.
    let payloads = &echo.payloads;
    let frame = 960;
    let with_fec = (10..payloads.len() - 1).any(|lost| {
        let mut a = new_decoder(CodecKind::Opus).unwrap();
        let mut b = new_decoder(CodecKind::Opus).unwrap();
        let mut out = vec![0i16; frame];
        for p in &payloads[..lost] {
            a.decode(p, &mut out).unwrap();
            b.decode(p, &mut out).unwrap();
        }
        let mut via_fec = vec![0i16; frame];
        let mut via_plc = vec![0i16; frame];
        a.decode_fec(&payloads[lost + 1], &mut via_fec).unwrap();
        b.conceal(&mut via_plc);
        via_fec != via_plc
    });
    assert!(with_fec, "no echoed packet carried FEC");
}
