//! What a peer's SDP lists, for a B2BUA that builds its own offer from it.

use crate::codec::CodecKind;
use crate::sip::sdp::SessionDescription;

use super::stream::{codec_of, is_live_audio};

/// The codecs of the first live audio stream of `sdp`, in the order the
/// peer prefers them (RFC 3264 §5.1), each once; unknown formats are left out.
pub fn offered_codecs(sdp: &SessionDescription) -> Vec<CodecKind> {
    let mut codecs = Vec::new();
    if let Some(media) = sdp.media.iter().find(|m| is_live_audio(m)) {
        for pt in media.payload_types() {
            if let Some(codec) = codec_of(media, pt) {
                if !codecs.contains(&codec) {
                    codecs.push(codec);
                }
            }
        }
    }
    codecs
}
