//! The leg end to end: two legs talking to each other through a simulated
//! network with exact times.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::*;
use crate::media::rtcp::interval::COMPENSATION;
use crate::media::rtcp::report::parse_compound;

const US: u32 = 0xaaaa_0001;
const THEM: u32 = 0xbbbb_0002;
const PTIME: Duration = Duration::from_millis(20);

fn config(ssrc: u32, cname: &str) -> RtcpLegConfig {
    RtcpLegConfig {
        ssrc,
        cname: cname.to_owned(),
        clock_rate: 8000,
        codec: CodecImpairment::G711_PLC,
        ptime_ms: 20,
        playout_delay_ms: 40,
        interval: IntervalConfig::default(),
    }
}

fn header(ssrc: u32, sequence: u16, timestamp: u32) -> RtpHeader {
    RtpHeader {
        marker: false,
        payload_type: 0,
        sequence,
        timestamp,
        ssrc,
    }
}

/// The wall clock of a simulated endpoint: `offset` from a fixed date, so
/// the two ends' wall clocks need not agree.
fn wall(t0: Instant, now: Instant, offset: Duration) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000) + offset + (now - t0)
}

/// Fires the leg's report timer exactly when due and returns the compound.
fn report_now(leg: &mut RtcpLeg, wall_at: impl Fn(Instant) -> SystemTime) -> (Instant, Vec<u8>) {
    let at = leg.poll_timeout();
    leg.handle_timeout(at, wall_at(at), 0.5);
    let mut buf = [0u8; 1500];
    let len = leg.poll_transmit(&mut buf).expect("a report is due");
    (at, buf[..len].to_vec())
}

#[test]
fn every_tenth_packet_lost_shows_in_our_receiver_report() {
    let t0 = Instant::now();
    let mut leg = RtcpLeg::new(config(US, "us@example.org"), t0, 0.5);
    // The far end sends 1000 packets, wrapping its sequence number; every
    // tenth is lost on the way.
    for i in 0..1000u32 {
        if i % 10 == 5 {
            continue;
        }
        let seq = 65_000u16.wrapping_add(i as u16);
        leg.on_rtp_received(t0 + PTIME * i, &header(THEM, seq, i * 160), 160);
    }
    // One report covering all of it: an RR (we sent nothing), then SDES.
    let end = t0 + PTIME * 1000;
    assert!(leg.poll_timeout() < end);
    leg.handle_timeout(end, wall(t0, end, Duration::ZERO), 0.5);
    let mut buf = [0u8; 1500];
    let len = leg.poll_transmit(&mut buf).unwrap();
    let bytes = &buf[..len];
    assert_eq!(bytes[1], 201);
    let report = parse_compound(bytes, THEM).unwrap();
    assert_eq!(report.sender_ssrc, US);
    let block = report.about_us.unwrap();
    assert!(
        block.fraction_lost == 25 || block.fraction_lost == 26,
        "{}",
        block.fraction_lost
    );
    assert_eq!(block.cumulative_lost, 100);
    assert_eq!(block.extended_highest_seq, 65_999);
    assert_eq!(block.jitter, 0);
    assert_eq!(report.cname.as_deref(), Some("us@example.org"));
    let stats = leg.stats();
    assert_eq!(stats.lost_rx, 100);
    assert!((stats.loss_rx_percent - 10.0).abs() < 1e-9);
    assert_eq!(
        stats.loss_rx_interval_percent,
        Some(f64::from(block.fraction_lost) * 100.0 / 256.0)
    );
    assert_eq!(stats.rx_packets, 900);
    assert_eq!(stats.rx_octets, 900 * 160);
    let mos = stats.mos_rx.unwrap();
    // 10 % random loss on G.711: Ie,eff = 95 · 10 / 35.1, R about 64.
    assert!((3.2..=3.5).contains(&mos), "{mos}");
}

/// We send audio and an SR; the far end (sending audio too or not) holds
/// it until its own report and answers. The network takes 15 ms one way
/// and 25 ms back: 40 ms round trip. Returns what we then see and the type
/// of the far end's answer.
fn exchange(far_end_sends: bool) -> (LegQuality, u8) {
    let t0 = Instant::now();
    let out = Duration::from_millis(15);
    let back = Duration::from_millis(25);
    let our_wall = |at: Instant| wall(t0, at, Duration::ZERO);
    // The far end's wall clock is hours off ours: RTT must not care.
    let their_wall = |at: Instant| wall(t0, at, Duration::from_secs(7_000));
    let mut us = RtcpLeg::new(config(US, "us@example.org"), t0, 0.2);
    let mut them = RtcpLeg::new(config(THEM, "them@example.net"), t0, 0.9);
    let mut seq = 0u16;
    let mut now = t0;
    while now < us.poll_timeout() {
        let ts = u32::from(seq) * 160;
        us.on_rtp_sent(now, ts, 160);
        them.on_rtp_received(now + out, &header(US, seq, ts), 160);
        if far_end_sends {
            them.on_rtp_sent(now, ts, 160);
            us.on_rtp_received(now + back, &header(THEM, seq, ts), 160);
        }
        seq += 1;
        now += PTIME;
    }
    let (sent_at, sr) = report_now(&mut us, our_wall);
    assert_eq!(sr[1], 200, "we sent audio: an SR");
    them.handle_rtcp(sent_at + out, &sr).unwrap();
    // The far end holds it until its own timer, then answers.
    assert!(them.poll_timeout() > sent_at + out);
    let (answered_at, answer) = report_now(&mut them, their_wall);
    let hold = answered_at - (sent_at + out);
    assert!(hold > Duration::from_millis(100), "{hold:?}");
    let block = parse_compound(&answer, US).unwrap().about_us.unwrap();
    // DLSR is the hold, in 1/65536 s.
    let dlsr = hold.as_secs_f64() * 65536.0;
    assert!((f64::from(block.dlsr) - dlsr).abs() <= 1.0);
    us.handle_rtcp(answered_at + back, &answer).unwrap();
    (us.stats(), answer[1])
}

#[test]
fn round_trip_time_from_the_far_end_answer() {
    for far_end_sends in [false, true] {
        let (stats, answer_type) = exchange(far_end_sends);
        // An RR from a far end that only listens, else an SR.
        assert_eq!(answer_type, if far_end_sends { 200 } else { 201 });
        let rtt = stats.rtt_ms.unwrap();
        assert!((rtt - 40.0).abs() <= 1.0, "rtt {rtt} ms");
        assert_eq!(stats.lost_tx, Some(0));
        assert_eq!(stats.loss_tx_percent, Some(0.0));
        assert_eq!(stats.jitter_tx_ms, Some(0.0));
        assert_eq!(stats.remote_cname.as_deref(), Some("them@example.net"));
        assert_eq!(stats.mos_rx.is_some(), far_end_sends);
        let mos = stats.mos.unwrap();
        assert!((4.3..=4.45).contains(&mos), "{mos}");
    }
}

#[test]
fn reordered_packets_are_not_lost() {
    let t0 = Instant::now();
    let mut leg = RtcpLeg::new(config(US, "us"), t0, 0.5);
    let mut order: Vec<u16> = (0..200).collect();
    for chunk in order.chunks_mut(5).skip(1) {
        chunk.swap(1, 3);
    }
    for (i, &seq) in order.iter().enumerate() {
        let seq = 65_500u16.wrapping_add(seq);
        leg.on_rtp_received(t0 + PTIME * i as u32, &header(THEM, seq, 0), 10);
    }
    let (_, bytes) = report_now(&mut leg, |at| wall(t0, at, Duration::ZERO));
    let block = parse_compound(&bytes, THEM).unwrap().about_us.unwrap();
    assert_eq!(block.cumulative_lost, 0);
    assert_eq!(block.fraction_lost, 0);
    assert_eq!(block.extended_highest_seq, (1 << 16) + 163);
}

#[test]
fn a_new_far_end_ssrc_starts_counting_again() {
    let t0 = Instant::now();
    let mut leg = RtcpLeg::new(config(US, "us"), t0, 0.5);
    for seq in 0..10 {
        leg.on_rtp_received(t0, &header(THEM, seq, 0), 10);
    }
    for seq in 500..503 {
        leg.on_rtp_received(t0, &header(THEM + 1, seq, 0), 10);
    }
    let stats = leg.stats();
    assert_eq!(stats.rx_ssrc_changes, 1);
    assert_eq!(stats.rx_packets, 3);
}

#[test]
fn garbage_rtcp_is_counted_and_never_panics() {
    let t0 = Instant::now();
    let mut leg = RtcpLeg::new(config(US, "us"), t0, 0.5);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut errors = 0;
    for _ in 0..4000 {
        let len = (next() % 200) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if len >= 4 && next() % 2 == 0 {
            // Half of them pass the version and type checks.
            bytes[0] = 0x80 | (bytes[0] & 0x1f);
            bytes[1] = 200 + (bytes[1] % 2);
        }
        if leg.handle_rtcp(t0, &bytes).is_err() {
            errors += 1;
        }
    }
    let stats = leg.stats();
    assert_eq!(stats.rtcp_received, 4000);
    assert_eq!(stats.rtcp_malformed, errors);
    assert!(errors > 3900, "{errors}");
    assert_eq!(stats.rtt_ms, None);
}

#[test]
fn bye_ends_the_reports() {
    let t0 = Instant::now();
    let mut leg = RtcpLeg::new(config(US, "us"), t0, 0.5);
    leg.on_rtp_sent(t0, 0, 160);
    let later = t0 + Duration::from_secs(1);
    leg.bye(later, wall(t0, later, Duration::ZERO), "hangup");
    let mut buf = [0u8; 1500];
    let len = leg.poll_transmit(&mut buf).unwrap();
    let report = parse_compound(&buf[..len], THEM).unwrap();
    assert!(report.bye);
    assert!(report.sender_info.is_some());
    assert_eq!(report.packets, 3);
    // The timer still moves, but nothing more goes out.
    for _ in 0..3 {
        let at = leg.poll_timeout();
        leg.handle_timeout(at, wall(t0, at, Duration::ZERO), 0.5);
        assert!(leg.poll_timeout() > at);
        assert_eq!(leg.poll_transmit(&mut buf), None);
    }
}

#[test]
fn far_end_bye_is_seen() {
    let t0 = Instant::now();
    let mut us = RtcpLeg::new(config(US, "us"), t0, 0.5);
    let mut them = RtcpLeg::new(config(THEM, "them"), t0, 0.5);
    them.bye(t0, wall(t0, t0, Duration::ZERO), "");
    let mut buf = [0u8; 1500];
    let len = them.poll_transmit(&mut buf).unwrap();
    us.handle_rtcp(t0, &buf[..len]).unwrap();
    assert!(us.stats().remote_bye);
}

#[test]
fn reports_follow_the_interval() {
    let t0 = Instant::now();
    let mut leg = RtcpLeg::new(config(US, "us"), t0, 0.0);
    // The first after half the minimum (RFC 3550 §6.2).
    let first = leg.poll_timeout() - t0;
    assert!((first.as_secs_f64() - 1.25 / COMPENSATION).abs() < 1e-6);
    // Not before it is due.
    leg.handle_timeout(t0, wall(t0, t0, Duration::ZERO), 0.5);
    assert_eq!(leg.poll_transmit(&mut [0u8; 1500]), None);
    let mut at = leg.poll_timeout();
    for _ in 0..50 {
        leg.handle_timeout(at, wall(t0, at, Duration::ZERO), 0.37);
        assert!(leg.poll_transmit(&mut [0u8; 1500]).is_some());
        let gap = (leg.poll_timeout() - at).as_secs_f64();
        assert!((2.5 / COMPENSATION..=7.5 / COMPENSATION).contains(&gap));
        at = leg.poll_timeout();
    }
    assert_eq!(leg.stats().rtcp_sent, 50);
}

#[test]
fn too_small_a_buffer_gives_nothing() {
    let t0 = Instant::now();
    let mut leg = RtcpLeg::new(config(US, "us"), t0, 0.5);
    let at = leg.poll_timeout();
    leg.handle_timeout(at, wall(t0, at, Duration::ZERO), 0.5);
    assert_eq!(leg.poll_transmit(&mut [0u8; 8]), None);
}

#[test]
fn a_fresh_leg_knows_no_round_trip_and_hears_without_loss() {
    let t0 = Instant::now();
    let mut leg = RtcpLeg::new(config(US, "us"), t0, 0.5);
    for seq in 0..3 {
        leg.on_rtp_received(t0 + PTIME * u32::from(seq), &header(THEM, seq, 0), 10);
    }
    let quality = leg.stats();
    assert_eq!(quality.rx_packets, 3);
    assert_eq!(quality.rtt_ms, None);
    assert!(quality.mos.unwrap() > 4.0);
}

#[test]
fn config_from_the_codec() {
    let config = RtcpLegConfig::new(US, "us".to_owned(), CodecKind::Pcmu, 20, 40);
    assert_eq!(config.clock_rate, 8000);
    // 64 kbit/s and 50 × 40 octets of headers a second.
    assert_eq!(config.interval.session_bandwidth_bps, 80_000);
    let config = RtcpLegConfig::new(US, "us".to_owned(), CodecKind::Opus, 20, 40);
    assert_eq!(config.clock_rate, 48_000);
    assert_eq!(config.codec.lookahead_ms, 6.5);
}

#[test]
fn reports_say_whether_the_far_end_sends() {
    let t0 = Instant::now();
    let mut us = RtcpLeg::new(config(1, "us"), t0, 0.5);
    let sr = |packets: u32| {
        let mut sr = [0u8; 28];
        sr[..8].copy_from_slice(&[0x80, 200, 0, 6, 0, 0, 0, 2]);
        sr[20..24].copy_from_slice(&packets.to_be_bytes());
        sr
    };
    let rr = [0x80, 201, 0, 1, 0, 0, 0, 2];
    assert_eq!(us.handle_rtcp(t0, &rr), Ok(PeerActivity::Quiet));
    assert_eq!(us.handle_rtcp(t0, &sr(10)), Ok(PeerActivity::Sending));
    assert_eq!(us.handle_rtcp(t0, &sr(60)), Ok(PeerActivity::Sending));
    assert_eq!(us.handle_rtcp(t0, &sr(60)), Ok(PeerActivity::Quiet));
    // An RR followed by a BYE (RFC 3550 §6.6).
    let bye = [0x80, 201, 0, 1, 0, 0, 0, 2, 0x81, 203, 0, 1, 0, 0, 0, 2];
    assert_eq!(us.handle_rtcp(t0, &bye), Ok(PeerActivity::Leaving));
}
