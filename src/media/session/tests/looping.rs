//! `Source::Loop` (music on hold) wraps without a gap or a repeated sample.

use super::*;

#[test]
fn a_loop_repeats_the_prompt_sample_exactly_across_frames() {
    let start = Instant::now();
    let mut now = start;
    // L16 (RFC 3551 §4.5.11) carries the samples unchanged: 160 per 20 ms frame.
    let mut setup = setup("127.0.0.1:4000".parse().ok());
    setup.params.codec = CodecKind::L16At8000;
    setup.params.payload_type = 96;
    let mut s = MediaSession::new(setup, now, Arc::new(MediaMetrics::default())).unwrap();
    // Three and a half frames, so every wrap falls inside a frame.
    let prompt: Vec<i16> = (0..560).map(|i| (i * 37 % 2000) as i16 - 1000).collect();
    s.set_source(Source::Loop {
        samples: Arc::from(prompt.clone()),
        position: 0,
    });
    let out = run(&mut s, &mut now, start + Duration::from_millis(200));
    assert_eq!(out.len(), 10, "one packet per frame, none skipped");
    let heard: Vec<i16> = out
        .iter()
        .flat_map(|(packet, _)| {
            packet[12..]
                .chunks_exact(2)
                .map(|b| i16::from_be_bytes([b[0], b[1]]))
                .collect::<Vec<_>>()
        })
        .collect();
    let expected: Vec<i16> = prompt.iter().copied().cycle().take(1600).collect();
    assert_eq!(heard, expected);
    // RFC 3550 §5.1: one stream, no gap in sequence or timestamp at a wrap.
    for pair in out.windows(2) {
        let seq = |p: &[u8]| u16::from_be_bytes([p[2], p[3]]);
        let ts = |p: &[u8]| u32::from_be_bytes([p[4], p[5], p[6], p[7]]);
        assert_eq!(seq(&pair[1].0), seq(&pair[0].0).wrapping_add(1));
        assert_eq!(ts(&pair[1].0), ts(&pair[0].0).wrapping_add(160));
    }
    assert_eq!(s.poll_event(), None, "a loop never finishes");
}
