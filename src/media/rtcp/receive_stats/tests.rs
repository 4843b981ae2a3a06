//! Sequence validation, loss, jitter and LSR/DLSR of one source.

use super::*;

const RATE: u32 = 8000;
const PTIME: Duration = Duration::from_millis(20);

/// Feeds packets `seqs` (offsets from `first`) arriving every 20 ms with
/// matching timestamps.
fn feed(stats: &mut ReceiveStatistics, t0: Instant, first: u16, seqs: &[u32]) {
    for &i in seqs {
        let seq = first.wrapping_add(i as u16);
        let ts = 1000u32.wrapping_add(i * 160);
        stats.on_packet(t0 + PTIME * i, seq, ts);
    }
}

#[test]
fn every_tenth_lost_reports_ten_percent() {
    let t0 = Instant::now();
    let mut stats = ReceiveStatistics::new(7, RATE);
    let kept: Vec<u32> = (0..1000).filter(|i| i % 10 != 5).collect();
    feed(&mut stats, t0, 40_000, &kept);
    let block = stats.report_block(t0 + Duration::from_secs(20));
    assert_eq!(block.cumulative_lost, 100);
    assert!(block.fraction_lost == 25 || block.fraction_lost == 26);
    assert_eq!(block.extended_highest_seq, 40_999);
    assert_eq!(block.jitter, 0);
    assert_eq!((block.lsr, block.dlsr), (0, 0));
    // The next interval has no loss.
    feed(&mut stats, t0, 40_000, &[1000, 1001]);
    let block = stats.report_block(t0 + Duration::from_secs(21));
    assert_eq!(block.fraction_lost, 0);
    assert_eq!(block.cumulative_lost, 100);
}

#[test]
fn wrap_around_counts_cycles() {
    let t0 = Instant::now();
    let mut stats = ReceiveStatistics::new(1, RATE);
    let all: Vec<u32> = (0..200).collect();
    feed(&mut stats, t0, 65_500, &all);
    let block = stats.report_block(t0);
    assert_eq!(block.extended_highest_seq, (1 << 16) + 163);
    assert_eq!(block.cumulative_lost, 0);
    assert_eq!(stats.received(), 200);
    assert_eq!(stats.expected_packets(), 200);
}

#[test]
fn probation_ending_on_a_wrap_counts_both_packets() {
    let t0 = Instant::now();
    let mut stats = ReceiveStatistics::new(1, RATE);
    feed(&mut stats, t0, 65_535, &[0, 1, 2]);
    assert_eq!(stats.expected_packets(), 3);
    assert_eq!(stats.cumulative_lost(), 0);
}

#[test]
fn reordering_is_not_loss() {
    let t0 = Instant::now();
    let mut stats = ReceiveStatistics::new(1, RATE);
    let mut order: Vec<u32> = (0..100).collect();
    for pair in order.chunks_mut(4).skip(1) {
        pair.swap(0, 1);
    }
    feed(&mut stats, t0, 100, &order);
    let block = stats.report_block(t0);
    assert_eq!(block.cumulative_lost, 0);
    assert_eq!(block.fraction_lost, 0);
    assert_eq!(block.extended_highest_seq, 199);
}

#[test]
fn duplicates_make_loss_negative() {
    let t0 = Instant::now();
    let mut stats = ReceiveStatistics::new(1, RATE);
    feed(&mut stats, t0, 10, &[0, 1, 2, 2, 2, 3]);
    assert_eq!(stats.cumulative_lost(), -2);
    assert_eq!(stats.report_block(t0).fraction_lost, 0);
}

#[test]
fn cumulative_lost_clamps_to_24_bits() {
    let mut stats = ReceiveStatistics::new(1, RATE);
    stats.started = true;
    stats.probation = 0;
    stats.base_seq = 0;
    stats.cycles = 1 << 30;
    assert_eq!(stats.cumulative_lost(), 0x7f_ffff);
    stats.cycles = 0;
    stats.received = 1 << 40;
    assert_eq!(stats.cumulative_lost(), -0x80_0000);
}

#[test]
fn a_big_jump_is_a_restart_once_confirmed() {
    let t0 = Instant::now();
    let mut stats = ReceiveStatistics::new(1, RATE);
    feed(&mut stats, t0, 0, &[0, 1, 2, 3]);
    // One stray far-off packet is ignored...
    assert!(!stats.on_packet(t0, 20_000, 0));
    assert_eq!(stats.extended_max(), 3);
    // ...two in sequence restart the counts there.
    assert!(!stats.on_packet(t0, 30_000, 0));
    assert!(stats.on_packet(t0, 30_001, 160));
    assert_eq!(stats.extended_max(), 30_001);
    assert_eq!(stats.cumulative_lost(), 0);
}

#[test]
fn probation_ignores_a_lone_packet() {
    let t0 = Instant::now();
    let mut stats = ReceiveStatistics::new(1, RATE);
    assert!(!stats.on_packet(t0, 5, 0));
    assert!(!stats.valid());
    assert!(!stats.on_packet(t0, 9, 0));
    assert!(stats.on_packet(t0, 10, 0));
    assert!(stats.valid());
    assert_eq!(stats.received(), 2);
}

#[test]
fn jitter_follows_a_fixed_arrival_offset() {
    let t0 = Instant::now();
    let mut stats = ReceiveStatistics::new(1, RATE);
    // Every other packet 10 ms late: |D| = 80 units each time.
    for i in 0..400u32 {
        let late = if i % 2 == 1 { 10 } else { 0 };
        let at = t0 + PTIME * i + Duration::from_millis(late);
        stats.on_packet(at, i as u16, i * 160);
    }
    let jitter = stats.jitter();
    assert!((78..=80).contains(&jitter), "jitter {jitter}");
    let ms = stats.jitter_duration().as_secs_f64() * 1000.0;
    assert!((ms - 10.0).abs() < 0.3, "jitter {ms} ms");
}

#[test]
fn lsr_and_dlsr_echo_the_last_sender_report() {
    let t0 = Instant::now();
    let mut stats = ReceiveStatistics::new(1, RATE);
    feed(&mut stats, t0, 0, &[0, 1]);
    let ntp = 0x1234_5678_9abc_def0u64;
    stats.on_sender_report(t0, ntp);
    let block = stats.report_block(t0 + Duration::from_millis(1500));
    assert_eq!(block.lsr, 0x5678_9abc);
    assert_eq!(block.dlsr, 65536 * 3 / 2);
}
