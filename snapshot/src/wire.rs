//! The snapshot's binary encoding, written out by hand.
//!
//! The bytes are postcard's format for these types (fields in declaration
//! order; unsigned integers, lengths and enum cases as LEB128 varints;
//! signed integers zigzagged first; an option as a 0/1 byte before its
//! value; a string as its length and UTF-8 bytes). Through serde and
//! postcard, encoding a 10-pod snapshot took the host 3.2 µs and decoding it
//! 9 µs natively; written directly they take 1.6 and 6.6 µs, and in a guest
//! decoding is as fast as before (`cargo bench -p rewind --bench perf --
//! compare`) without serde's deserializers in every policy. The tests check
//! these bytes against postcard's own on every type, both ways, so the
//! format cannot drift from its description.
//!
//! Each struct's fields are listed once, in [`wire_struct!`], which writes
//! both directions from that list. Every `write` and `read` is `#[inline]`
//! (see [`Wire`]).

use crate::*;
use std::fmt;

/// Bytes that are not a snapshot of this version of the encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Where in the bytes decoding stopped.
    pub offset: usize,
    pub problem: &'static str,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the snapshot's bytes do not decode ({} at byte {}); host and policy disagree on the encoding",
            self.problem, self.offset
        )
    }
}

impl std::error::Error for DecodeError {}

/// Decoding stopped; the reader holds why. Carrying nothing keeps every
/// `Result` the decoder passes around as small as its value (in a guest,
/// a 12-byte error in each result made decoding slower than serde's).
pub(crate) struct Stop;

pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    problem: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, at: 0, problem: "" }
    }

    #[cold]
    fn fail<T>(&mut self, problem: &'static str) -> Result<T, Stop> {
        self.problem = problem;
        Err(Stop)
    }

    /// Why decoding stopped, and where.
    pub(crate) fn error(&self) -> DecodeError {
        DecodeError { offset: self.at, problem: self.problem }
    }

    pub(crate) fn finish(&mut self) -> Result<(), Stop> {
        if self.at == self.bytes.len() { Ok(()) } else { self.fail("bytes left over after the snapshot") }
    }

    #[inline]
    fn byte(&mut self) -> Result<u8, Stop> {
        match self.bytes.get(self.at) {
            Some(&byte) => {
                self.at += 1;
                Ok(byte)
            }
            None => self.fail("the bytes end too early"),
        }
    }

    /// A LEB128 varint of at most `bits` bits.
    #[inline]
    fn varint(&mut self, bits: u32) -> Result<u64, Stop> {
        let mut value = 0u64;
        let mut shift = 0;
        loop {
            let byte = self.byte()?;
            let part = u64::from(byte & 0x7f);
            if shift >= bits || (bits - shift < 7 && part >> (bits - shift) != 0) {
                return self.fail("a number too large for its field");
            }
            value |= part << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
        }
    }

    fn length(&mut self) -> Result<usize, Stop> {
        let length = self.varint(32)? as usize;
        // Every element takes at least one byte: a longer claim is corrupt,
        // and must not reserve memory for it.
        if length > self.bytes.len() - self.at {
            return self.fail("a length longer than the bytes left");
        }
        Ok(length)
    }

    fn tag(&mut self, cases: u32) -> Result<u32, Stop> {
        let tag = self.varint(32)? as u32;
        if tag < cases { Ok(tag) } else { self.fail("an unknown enum case") }
    }
}

/// Every implementation's `write` and `read` is `#[inline]`: reads because
/// in a guest a call per field costs more than the field (without it,
/// decoding was 8% slower than serde's), writes because the calls were a
/// fifth of the host's encoding (2.1 → 1.6 µs for 10 pods); both measured
/// with the benchmark.
pub(crate) trait Wire<'a>: Sized {
    fn write(&self, out: &mut Vec<u8>);
    fn read(reader: &mut Reader<'a>) -> Result<Self, Stop>;
}

#[inline]
fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

impl Wire<'_> for bool {
    #[inline]
    fn write(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
    #[inline]
    fn read(reader: &mut Reader<'_>) -> Result<Self, Stop> {
        match reader.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => reader.fail("a boolean that is neither 0 nor 1"),
        }
    }
}

macro_rules! wire_unsigned {
    ($($ty:ty),*) => {$(
        impl Wire<'_> for $ty {
            #[inline]
            fn write(&self, out: &mut Vec<u8>) {
                write_varint(out, u64::from(*self));
            }
            #[inline]
            fn read(reader: &mut Reader<'_>) -> Result<Self, Stop> {
                Ok(reader.varint(<$ty>::BITS)? as $ty)
            }
        }
    )*};
}
wire_unsigned!(u32, u64);

macro_rules! wire_signed {
    ($($ty:ty => $unsigned:ty),*) => {$(
        impl Wire<'_> for $ty {
            #[inline]
            fn write(&self, out: &mut Vec<u8>) {
                let zigzag = ((*self << 1) ^ (*self >> (<$ty>::BITS - 1))) as $unsigned;
                write_varint(out, u64::from(zigzag));
            }
            #[inline]
            fn read(reader: &mut Reader<'_>) -> Result<Self, Stop> {
                let zigzag = reader.varint(<$ty>::BITS)? as $unsigned;
                Ok((zigzag >> 1) as $ty ^ -((zigzag & 1) as $ty))
            }
        }
    )*};
}
wire_signed!(i32 => u32, i64 => u64);

impl<'a> Wire<'a> for Text<'a> {
    #[inline]
    fn write(&self, out: &mut Vec<u8>) {
        write_varint(out, self.len() as u64);
        out.extend_from_slice(self.as_bytes());
    }
    #[inline]
    fn read(reader: &mut Reader<'a>) -> Result<Self, Stop> {
        let length = reader.length()?;
        let bytes = &reader.bytes[reader.at..reader.at + length];
        match utf8(bytes) {
            Ok(text) => {
                reader.at += length;
                Ok(Text::borrowed(text))
            }
            Err(_) => reader.fail("a string that is not UTF-8"),
        }
    }
}

/// `bytes` as text if they are UTF-8. Snapshot strings are short and
/// nearly always ASCII, and checking for ASCII first (a word at a time) is
/// cheaper in a guest than the general check: `from_utf8` was 2 of the 8 µs
/// a 10-pod snapshot took to decode; this saves about a quarter of that
/// (`-- compare`).
#[inline]
fn utf8(bytes: &[u8]) -> Result<&str, std::str::Utf8Error> {
    if bytes.is_ascii() {
        // SAFETY: every byte is below 0x80, so the bytes are ASCII, which is UTF-8.
        Ok(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        std::str::from_utf8(bytes)
    }
}

impl<'a, T: Wire<'a>> Wire<'a> for Option<T> {
    #[inline]
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            None => out.push(0),
            Some(value) => {
                out.push(1);
                value.write(out);
            }
        }
    }
    #[inline]
    fn read(reader: &mut Reader<'a>) -> Result<Self, Stop> {
        match reader.byte()? {
            0 => Ok(None),
            1 => T::read(reader).map(Some),
            _ => reader.fail("an option tag that is neither 0 nor 1"),
        }
    }
}

impl<'a, T: Wire<'a>> Wire<'a> for Vec<T> {
    #[inline]
    fn write(&self, out: &mut Vec<u8>) {
        write_varint(out, self.len() as u64);
        for item in self {
            item.write(out);
        }
    }
    #[inline]
    fn read(reader: &mut Reader<'a>) -> Result<Self, Stop> {
        let length = reader.length()?;
        let mut items = Vec::with_capacity(length);
        for _ in 0..length {
            items.push(T::read(reader)?);
        }
        Ok(items)
    }
}

impl<'a, A: Wire<'a>, B: Wire<'a>> Wire<'a> for (A, B) {
    #[inline]
    fn write(&self, out: &mut Vec<u8>) {
        self.0.write(out);
        self.1.write(out);
    }
    #[inline]
    fn read(reader: &mut Reader<'a>) -> Result<Self, Stop> {
        Ok((A::read(reader)?, B::read(reader)?))
    }
}

/// Both directions of a struct, from its fields in declaration order.
macro_rules! wire_struct {
    ($name:ident $(<$a:lifetime>)? { $($field:ident),* $(,)? }) => {
        impl<'a> Wire<'a> for $name $(<$a>)? {
            #[inline]
            fn write(&self, out: &mut Vec<u8>) {
                $(self.$field.write(out);)*
            }
            #[inline]
            fn read(reader: &mut Reader<'a>) -> Result<Self, Stop> {
                Ok($name { $($field: Wire::read(reader)?),* })
            }
        }
    };
}

/// The snapshot's fields in declaration order; the metrics section only in
/// the encodings that have it.
pub(crate) fn write_snapshot(snapshot: &Snapshot<'_>, encoding: Encoding, out: &mut Vec<u8>) {
    let Snapshot { now, target, releases, objects, pods, settings, metrics, gitops, configuration, application } =
        snapshot;
    now.write(out);
    target.write(out);
    releases.write(out);
    objects.write(out);
    pods.write(out);
    settings.write(out);
    if encoding.has_metrics() {
        metrics.write(out);
    }
    if encoding.has_gitops() {
        gitops.write(out);
    }
    if encoding.has_configuration() {
        configuration.write(out);
    }
    if encoding.has_application() {
        write_application(application.as_ref(), encoding, out);
    }
}

/// Members are whole snapshots in the same encoding; a member has no
/// application of its own, so the nesting is one level deep.
fn write_application(application: Option<&Application<'_>>, encoding: Encoding, out: &mut Vec<u8>) {
    let Some(Application { name, members }) = application else {
        out.push(0);
        return;
    };
    out.push(1);
    name.write(out);
    write_varint(out, members.len() as u64);
    for member in members {
        debug_assert!(member.application.is_none(), "a member has no application of its own");
        write_snapshot(member, encoding, out);
    }
}

fn read_application<'a>(reader: &mut Reader<'a>, encoding: Encoding) -> Result<Option<Application<'a>>, Stop> {
    match reader.byte()? {
        0 => return Ok(None),
        1 => {}
        _ => return reader.fail("an option tag that is neither 0 nor 1"),
    }
    let name = Wire::read(reader)?;
    let count = reader.length()?;
    let mut members = Vec::with_capacity(count);
    for _ in 0..count {
        let member = read_snapshot(reader, encoding)?;
        if member.application.is_some() {
            return reader.fail("an application member with an application of its own");
        }
        members.push(member);
    }
    Ok(Some(Application { name, members }))
}

pub(crate) fn read_snapshot<'a>(reader: &mut Reader<'a>, encoding: Encoding) -> Result<Snapshot<'a>, Stop> {
    Ok(Snapshot {
        now: Wire::read(reader)?,
        target: Wire::read(reader)?,
        releases: Wire::read(reader)?,
        objects: Wire::read(reader)?,
        pods: Wire::read(reader)?,
        settings: Wire::read(reader)?,
        metrics: if encoding.has_metrics() { Wire::read(reader)? } else { Vec::new() },
        gitops: if encoding.has_gitops() { Wire::read(reader)? } else { None },
        configuration: if encoding.has_configuration() { Wire::read(reader)? } else { Vec::new() },
        application: if encoding.has_application() { read_application(reader, encoding)? } else { None },
    })
}

impl Wire<'_> for f64 {
    #[inline]
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    #[inline]
    fn read(reader: &mut Reader<'_>) -> Result<Self, Stop> {
        let Some(bytes) = reader.bytes.get(reader.at..reader.at + 8) else {
            return reader.fail("the bytes end too early");
        };
        reader.at += 8;
        Ok(f64::from_le_bytes(bytes.try_into().expect("eight bytes")))
    }
}

wire_struct!(Metric<'a> { name, query, result });
wire_struct!(GitOps<'a> { tool, namespace, name, marked_by, owner });
wire_struct!(ReleaseConfiguration<'a> { release, recorded, sources });
wire_struct!(ConfigSource<'a> { kind, name, optional, recorded, live });
wire_struct!(OwnerState<'a> { confirmed, suspended, automated, self_heal, revision, paused_for });

impl<'a> Wire<'a> for GitOpsOwner<'a> {
    #[inline]
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            GitOpsOwner::Found(state) => {
                out.push(0);
                state.write(out);
            }
            GitOpsOwner::Missing => out.push(1),
            GitOpsOwner::Unreadable(reason) => {
                out.push(2);
                reason.write(out);
            }
        }
    }
    #[inline]
    fn read(reader: &mut Reader<'a>) -> Result<Self, Stop> {
        Ok(match reader.tag(3)? {
            0 => GitOpsOwner::Found(Wire::read(reader)?),
            1 => GitOpsOwner::Missing,
            _ => GitOpsOwner::Unreadable(Wire::read(reader)?),
        })
    }
}
wire_struct!(Sample { time, value });

impl<'a> Wire<'a> for MetricResult<'a> {
    #[inline]
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            MetricResult::Samples(samples) => {
                out.push(0);
                samples.write(out);
            }
            MetricResult::Error(message) => {
                out.push(1);
                message.write(out);
            }
        }
    }
    #[inline]
    fn read(reader: &mut Reader<'a>) -> Result<Self, Stop> {
        Ok(match reader.tag(2)? {
            0 => MetricResult::Samples(Wire::read(reader)?),
            _ => MetricResult::Error(Wire::read(reader)?),
        })
    }
}
wire_struct!(Condition<'a> { kind, status, reason, message, last_transition });
wire_struct!(WaitingState<'a> { reason, message });
wire_struct!(RunningState { started_at });
wire_struct!(TerminatedState<'a> { reason, message, exit_code, started_at, finished_at });
wire_struct!(Container<'a> { name, image, role, ready, started, restart_count, state, last_terminated });
wire_struct!(Pod<'a> { object, phase, reason, message, conditions, created, started, deleting, containers });
wire_struct!(ObjectInfo<'a> { api_version, kind, name, uid, labels, annotations, owner });
wire_struct!(Release<'a> { id, revision, object, pod_template_hash, images, created, replicas, ready_replicas, current });
wire_struct!(Target<'a> {
    api_version, kind, namespace, name, uid, generation, observed_generation, labels, annotations, conditions,
    paused, desired_replicas, ready_replicas, updated_replicas, available_replicas,
});

/// Both directions of an enum whose cases carry nothing, from its cases in
/// declaration order.
macro_rules! wire_unit_enum {
    ($name:ident { $($case:ident),* $(,)? }) => {
        impl Wire<'_> for $name {
            #[inline]
            fn write(&self, out: &mut Vec<u8>) {
                write_varint(out, *self as u64);
            }
            #[inline]
            fn read(reader: &mut Reader<'_>) -> Result<Self, Stop> {
                const CASES: &[$name] = &[$($name::$case),*];
                Ok(CASES[reader.tag(CASES.len() as u32)? as usize])
            }
        }
    };
}

wire_unit_enum!(ConditionStatus { True, False, Unknown });
wire_unit_enum!(ConfigKind { ConfigMap, Secret });
wire_unit_enum!(GitOpsTool { FluxKustomization, FluxHelmRelease, ArgoCdApplication });
wire_unit_enum!(ContainerRole { App, Init, Sidecar });
wire_unit_enum!(PodPhase { Pending, Running, Succeeded, Failed, Unknown });

impl<'a> Wire<'a> for Recorded<'a> {
    #[inline]
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Recorded::Data => out.push(0),
            Recorded::VersionOnly(why) => {
                out.push(1);
                why.write(out);
            }
            Recorded::Absent => out.push(2),
            Recorded::NotRecorded => out.push(3),
        }
    }
    #[inline]
    fn read(reader: &mut Reader<'a>) -> Result<Self, Stop> {
        Ok(match reader.tag(4)? {
            0 => Recorded::Data,
            1 => Recorded::VersionOnly(Wire::read(reader)?),
            2 => Recorded::Absent,
            _ => Recorded::NotRecorded,
        })
    }
}

impl<'a> Wire<'a> for Live<'a> {
    #[inline]
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Live::Matches => out.push(0),
            Live::Changed => out.push(1),
            Live::Missing => out.push(2),
            Live::Present => out.push(3),
            Live::Unknown(why) => {
                out.push(4);
                why.write(out);
            }
        }
    }
    #[inline]
    fn read(reader: &mut Reader<'a>) -> Result<Self, Stop> {
        Ok(match reader.tag(5)? {
            0 => Live::Matches,
            1 => Live::Changed,
            2 => Live::Missing,
            3 => Live::Present,
            _ => Live::Unknown(Wire::read(reader)?),
        })
    }
}

impl<'a> Wire<'a> for WaitingReason<'a> {
    #[inline]
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            WaitingReason::Other(text) => {
                write_varint(out, KNOWN_WAITING_REASONS.len() as u64);
                text.write(out);
            }
            known => write_varint(out, WaitingReason::known_position(known) as u64),
        }
    }
    #[inline]
    fn read(reader: &mut Reader<'a>) -> Result<Self, Stop> {
        let known = KNOWN_WAITING_REASONS.len() as u32;
        match reader.tag(known + 1)? {
            tag if tag == known => Text::read(reader).map(WaitingReason::Other),
            tag => Ok(KNOWN_WAITING_REASONS[tag as usize].0.clone()),
        }
    }
}

impl<'a> Wire<'a> for ContainerState<'a> {
    #[inline]
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            ContainerState::Waiting(state) => {
                out.push(0);
                state.write(out);
            }
            ContainerState::Running(state) => {
                out.push(1);
                state.write(out);
            }
            ContainerState::Terminated(state) => {
                out.push(2);
                state.write(out);
            }
            ContainerState::Unknown => out.push(3),
        }
    }
    #[inline]
    fn read(reader: &mut Reader<'a>) -> Result<Self, Stop> {
        Ok(match reader.tag(4)? {
            0 => ContainerState::Waiting(Wire::read(reader)?),
            1 => ContainerState::Running(Wire::read(reader)?),
            2 => ContainerState::Terminated(Wire::read(reader)?),
            _ => ContainerState::Unknown,
        })
    }
}
