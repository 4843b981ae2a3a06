use super::*;

#[test]
fn chars_and_event_codes_round_trip() {
    let chars: String = DtmfDigit::ALL.iter().map(|d| d.to_char()).collect();
    assert_eq!(chars, "0123456789*#ABCD");
    for (code, digit) in DtmfDigit::ALL.iter().enumerate() {
        assert_eq!(usize::from(digit.event_code()), code);
        assert_eq!(DtmfDigit::from_event_code(code as u8), Some(*digit));
        assert_eq!(DtmfDigit::from_char(digit.to_char()), Some(*digit));
    }
    assert_eq!(DtmfDigit::from_event_code(16), None);
    assert_eq!(DtmfDigit::from_char('x'), None);
    assert_eq!(DtmfDigit::from_char('d'), Some(DtmfDigit::D));
}

#[test]
fn keypad_frequencies() {
    assert_eq!(DtmfDigit::Digit1.frequencies(), (697, 1209));
    assert_eq!(DtmfDigit::Digit0.frequencies(), (941, 1336));
    assert_eq!(DtmfDigit::Hash.frequencies(), (941, 1477));
    assert_eq!(DtmfDigit::C.frequencies(), (852, 1633));
    for digit in DtmfDigit::ALL {
        let (row, column) = digit.row_column();
        assert_eq!(DtmfDigit::from_row_column(row, column), Some(digit));
    }
}
