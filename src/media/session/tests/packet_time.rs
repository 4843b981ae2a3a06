//! A peer that sends 30 ms packets to a leg that answered 20 ms: after a
//! few packets the session follows, and its audio comes through whole.

use super::*;

#[test]
fn thirty_ms_packets_on_a_twenty_ms_leg_are_followed_and_echoed_whole() {
    let start = Instant::now();
    let mut now = start;
    let mut s = session(now);
    s.set_source(Source::Echo);
    let from: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    let mut sent: Vec<u8> = Vec::new();
    let mut echoed = Vec::new();
    for i in 0..40u16 {
        let payload: Vec<u8> = (0..240)
            .map(|k| ((i as usize * 11 + k) % 256) as u8)
            .map(|c| if c == 0x7f { 0x7e } else { c })
            .collect();
        s.handle_rtp(now, from, &rtp(i, u32::from(i) * 240, &payload));
        if i >= 3 {
            sent.extend_from_slice(&payload);
        }
        let until = start + Duration::from_millis(30 * (u64::from(i) + 1));
        echoed.extend(run(&mut s, &mut now, until));
    }
    assert!(s.take_packet_time_change(), "the session followed the peer");
    assert_eq!(s.params.ptime_ms, 30);
    // From the switch on, packets go out at 30 ms too, and what was sent
    // comes back byte for byte (G.711 decode and encode are exact).
    let tail: Vec<u8> = echoed
        .iter()
        .filter(|(d, _)| d.len() == 12 + 240)
        .flat_map(|(d, _)| d[12..].to_vec())
        .collect();
    assert!(
        tail.len() >= 30 * 240,
        "{} bytes echoed at 30 ms",
        tail.len()
    );
    let window = &sent[240..240 * 10];
    assert!(
        tail.windows(window.len()).any(|w| w == window),
        "the audio comes through whole"
    );
    assert_eq!(s.stats.snapshot().rx_packets, 40);
}
