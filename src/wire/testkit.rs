//! The wire test kit (compiled for tests only): hex fixtures, proptest strategies for the values reprs carry, and
//! the frame mutations the never-panic properties feed the parsers. Shared by the protocol tests under `wire/` and
//! by `discover::sighting`'s tests.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

use super::*;
use proptest::prelude::*;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Bytes from hex, ignoring whitespace, `|` separators and `#` comments to the end of a line.
pub fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s
        .lines()
        .flat_map(|line| line.split('#').next().unwrap_or("").bytes())
        .filter(|b| !b.is_ascii_whitespace() && *b != b'|')
        .collect();
    assert!(digits.len() % 2 == 0, "odd number of hex digits");
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

/// Enough cases for a property to mean something, few enough for a debug run.
pub fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

pub fn mac() -> impl Strategy<Value = Mac> {
    any::<[u8; 6]>().prop_map(Mac)
}

pub fn ipv4() -> impl Strategy<Value = Ipv4Addr> {
    any::<[u8; 4]>().prop_map(Ipv4Addr::from)
}

pub fn ipv6() -> impl Strategy<Value = Ipv6Addr> {
    any::<[u8; 16]>().prop_map(Ipv6Addr::from)
}

/// Text up to `max` bytes of UTF-8 (what a string field can carry).
pub fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!(".{{0,{max}}}"))
        .unwrap()
        .prop_filter("fits its field", move |s| s.len() <= max)
}

pub fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..=max)
}

/// One VLAN tag with any TPID (802.1Q, 802.1ad or 0x9100), priority, DEI and ID.
pub fn tag() -> impl Strategy<Value = VlanTag> {
    (
        prop_oneof![Just(Tpid::Dot1q), Just(Tpid::Dot1ad), Just(Tpid::Qinq9100)],
        0u8..8,
        any::<bool>(),
        0u16..4096,
    )
        .prop_map(|(tpid, priority, drop_eligible, id)| VlanTag {
            tpid,
            priority,
            drop_eligible,
            id,
        })
}

/// No tag or one tag of any TPID.
pub fn vlan() -> impl Strategy<Value = Option<VlanTag>> {
    proptest::option::of(tag())
}

/// A tag stack of 0, 1 or 2 tags as [`EthernetRepr`] holds it: `(outer, vlan)`, `vlan` the innermost, `outer` only
/// with `vlan`.
pub fn tags() -> impl Strategy<Value = (Option<VlanTag>, Option<VlanTag>)> {
    prop_oneof![
        Just((None, None)),
        tag().prop_map(|inner| (None, Some(inner))),
        (tag(), tag()).prop_map(|(outer, inner)| (Some(outer), Some(inner))),
    ]
}

/// One change to a valid frame: what a bad cable, a buggy stack or an attacker could do.
#[derive(Debug, Clone)]
pub enum Mutation {
    Flip { at: usize, mask: u8 },
    Truncate { at: usize },
    Extend(Vec<u8>),
    Insert { at: usize, bytes: Vec<u8> },
    Remove { at: usize, len: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 1u8..=255).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        2 => any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        1 => bytes(32).prop_map(Mutation::Extend),
        1 => (any::<usize>(), bytes(8)).prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        1 => (any::<usize>(), 1usize..8).prop_map(|(at, len)| Mutation::Remove { at, len }),
    ]
}

fn apply(frame: &mut Vec<u8>, m: &Mutation) {
    let len = frame.len().max(1);
    match m {
        Mutation::Flip { at, mask } => {
            if let Some(b) = frame.get_mut(at % len) {
                *b ^= mask;
            }
        }
        Mutation::Truncate { at } => frame.truncate(at % len),
        Mutation::Extend(bytes) => frame.extend_from_slice(bytes),
        Mutation::Insert { at, bytes } => {
            let at = at % (frame.len() + 1);
            frame.splice(at..at, bytes.iter().copied());
        }
        Mutation::Remove { at, len: n } => {
            let at = at % len;
            let end = (at + n).min(frame.len());
            if at < end {
                frame.drain(at..end);
            }
        }
    }
}

/// One of `frames`, changed one to four times.
pub fn mutated(frames: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::sample::select(frames),
        proptest::collection::vec(mutation(), 1..=4),
    )
        .prop_map(|(mut frame, mutations)| {
            for m in &mutations {
                apply(&mut frame, m);
            }
            frame
        })
}
