//! G.711 μ-law (PCMU) and A-law (PCMA) sample conversion (ITU-T G.711).
//!
//! Decoding goes through 256-entry tables built at compile time; encoding is a
//! handful of integer operations per sample, cheaper than a 64 Ki table in cache.

const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 32635;

/// Encodes one linear sample to μ-law.
pub fn ulaw_encode(sample: i16) -> u8 {
    let mut pcm = sample as i32;
    let sign = if pcm < 0 {
        pcm = -pcm;
        0x80
    } else {
        0
    };
    pcm = pcm.min(ULAW_CLIP) + ULAW_BIAS;
    let top = ((pcm >> 7) & 0xFF) as u32;
    let exponent = if top == 0 {
        0
    } else {
        31 - top.leading_zeros()
    };
    let mantissa = (pcm >> (exponent + 3)) & 0x0F;
    !(sign | ((exponent as i32) << 4) | mantissa) as u8
}

const fn ulaw_decode_slow(code: u8) -> i16 {
    let u = !code;
    let exponent = ((u >> 4) & 0x07) as i32;
    let mantissa = (u & 0x0F) as i32;
    let magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
    if u & 0x80 != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

/// Encodes one linear sample to A-law.
pub fn alaw_encode(sample: i16) -> u8 {
    // A-law works on 13-bit magnitudes.
    let mut pcm = (sample as i32) >> 3;
    let mask = if pcm >= 0 {
        0xD5
    } else {
        pcm = -pcm - 1;
        0x55
    };
    // Segment = number of significant bits above the 5-bit first segment.
    let segment = match pcm {
        0..=0x1F => 0,
        _ => (32 - (pcm as u32).leading_zeros()) as i32 - 5,
    };
    if segment >= 8 {
        return 0x7F ^ mask;
    }
    let quantised = if segment < 2 {
        (pcm >> 1) & 0x0F
    } else {
        (pcm >> segment) & 0x0F
    };
    ((segment << 4) | quantised) as u8 ^ mask
}

const fn alaw_decode_slow(code: u8) -> i16 {
    let a = code ^ 0x55;
    let mut magnitude = ((a & 0x0F) as i32) << 4;
    let segment = ((a & 0x70) >> 4) as i32;
    magnitude += match segment {
        0 => 8,
        _ => 0x108,
    };
    if segment > 1 {
        magnitude <<= segment - 1;
    }
    if a & 0x80 != 0 {
        magnitude as i16
    } else {
        -magnitude as i16
    }
}

const fn build_table(alaw: bool) -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = if alaw {
            alaw_decode_slow(i as u8)
        } else {
            ulaw_decode_slow(i as u8)
        };
        i += 1;
    }
    table
}

static ULAW_TABLE: [i16; 256] = build_table(false);
static ALAW_TABLE: [i16; 256] = build_table(true);

/// Decodes one μ-law code to a linear sample.
#[inline]
pub fn ulaw_decode(code: u8) -> i16 {
    ULAW_TABLE[code as usize]
}

/// Decodes one A-law code to a linear sample.
#[inline]
pub fn alaw_decode(code: u8) -> i16 {
    ALAW_TABLE[code as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ulaw_code_round_trips_except_negative_zero() {
        for code in 0..=255u8 {
            let expected = if code == 0x7F { 0xFF } else { code };
            assert_eq!(ulaw_encode(ulaw_decode(code)), expected, "code {code:#04x}");
        }
        // Both zeros decode to 0 (G.711 Table 2a, character signals 0x7F / 0xFF).
        assert_eq!(ulaw_decode(0x7F), 0);
        assert_eq!(ulaw_decode(0xFF), 0);
    }

    #[test]
    fn every_alaw_code_round_trips() {
        for code in 0..=255u8 {
            assert_eq!(alaw_encode(alaw_decode(code)), code, "code {code:#04x}");
        }
    }

    #[test]
    fn decoded_values_match_the_g711_tables() {
        // μ-law: code 0x00 is the most negative step, 0x80 the most positive.
        assert_eq!(ulaw_decode(0x00), -32124);
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(ulaw_decode(0xFE), 8);
        assert_eq!(ulaw_decode(0x7E), -8);
        // A-law: even bits inverted on the line (0xD5 / 0x55 are the ±smallest steps).
        assert_eq!(alaw_decode(0xD5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        assert_eq!(alaw_decode(0x2A), -32256);
        assert_eq!(alaw_decode(0xAA), 32256);
    }

    #[test]
    fn encoding_is_monotonic_over_the_whole_i16_range() {
        // Quantising must never reorder two inputs: decode(encode(x)) is a
        // non-decreasing staircase, and its steps match the law's 8 segments.
        let mut previous_ulaw = i16::MIN;
        let mut previous_alaw = i16::MIN;
        let mut ulaw_levels = 0;
        let mut alaw_levels = 0;
        for x in i16::MIN..=i16::MAX {
            let u = ulaw_decode(ulaw_encode(x));
            let a = alaw_decode(alaw_encode(x));
            assert!(u >= previous_ulaw, "μ-law reorders at {x}");
            assert!(a >= previous_alaw, "A-law reorders at {x}");
            if x == i16::MIN || u != previous_ulaw {
                ulaw_levels += 1;
            }
            if x == i16::MIN || a != previous_alaw {
                alaw_levels += 1;
            }
            previous_ulaw = u;
            previous_alaw = a;
        }
        // μ-law has one zero level for its two zero codes; A-law has none.
        assert_eq!(ulaw_levels, 255);
        assert_eq!(alaw_levels, 256);
    }

    #[test]
    fn clipping_saturates_at_the_extreme_codes() {
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        assert_eq!(alaw_encode(i16::MAX), 0xAA);
        assert_eq!(alaw_encode(i16::MIN), 0x2A);
    }

    #[test]
    fn small_signals_stay_near_zero() {
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(alaw_encode(-1), 0x55);
        for x in -8..=8i16 {
            assert!(ulaw_decode(ulaw_encode(x)).abs() <= 8);
            assert!(alaw_decode(alaw_encode(x)).abs() <= 8);
        }
    }
}
