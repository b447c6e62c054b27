//! The raw socket discovery listens and sends on: one AF_PACKET socket bound to the named interface, set up the
//! way libpcap sets one up on Linux, because pnet's channel cannot ask the kernel for three things discovery needs:
//! - **the 802.1Q tag.** The kernel strips a received frame's VLAN tag before any packet socket sees it and keeps
//!   it beside the frame. With `PACKET_AUXDATA` each `recvmsg` carries it in a control message
//!   (`tpacket_auxdata`); [`PacketSocket::recv`] puts it back into the frame (TPID and TCI after the source MAC,
//!   as libpcap does), so the parsers in [`crate::wire`] see the frame as it was on the wire.
//! - **the LLDP and CDP multicast groups.** `PACKET_ADD_MEMBERSHIP` with `PACKET_MR_MULTICAST` asks the NIC to pass
//!   01:80:c2:00:00:0e and 01:00:0c:cc:cc:cc, which is all LLDP and CDP need. Promiscuous membership is asked for
//!   as well unless the caller says not to: many NICs (e1000e, igb, ixgbe) filter VLANs in hardware except in
//!   promiscuous mode, dropping the tagged frames of every VLAN the host has no interface on — the phones in the
//!   voice VLAN. A link that refuses either is listened to anyway, with the reason kept. Memberships belong to
//!   the socket, so they end when it closes, whatever way the run ends.
//! - **which way a frame went** (`sll_pkttype`): frames the host sends (the kernel's ARP for a connection) come
//!   back to this socket marked outgoing; its own sends never do.
//!
//! This is the only module of the crate with `unsafe` code: the libc calls and the control-message walk, each
//! block with its SAFETY comment.
#![allow(unsafe_code)]

use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use crate::mac::Mac;

/// The multicast groups passive discovery listens to: LLDP's nearest-bridge address and CDP's.
pub const GROUPS: [Mac; 2] = [
    Mac([0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e]),
    Mac([0x01, 0x00, 0x0c, 0xcc, 0xcc, 0xcc]),
];

/// The largest frame read whole (a jumbo frame); longer frames are cut, which the parsers report as truncated.
const FRAME_MAX: usize = 65_535;
/// Room for the tag put back in front of the EtherType.
const TAG_LEN: usize = 4;
const TPID_8021Q: u16 = 0x8100;

/// What passive listening asks of the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Passive {
    /// Join the LLDP and CDP multicast groups.
    pub groups: bool,
    /// Also make the interface promiscuous for this socket (every VLAN's tagged frames; see the module doc).
    pub promiscuous: bool,
}

/// How the interface answered what [`Passive`] asked: `Ok` when done, the reason when refused, `None` when not
/// asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Groups {
    pub groups: Option<Result<(), String>>,
    pub promiscuous: Option<Result<(), String>>,
}

/// One frame read from the socket.
#[derive(Debug)]
pub struct Received<'a> {
    /// The frame as it was on the wire: a VLAN tag the kernel stripped is back in place.
    pub frame: &'a [u8],
    /// Sent by this host (another socket's frame, or the kernel's ARP), not received.
    pub outgoing: bool,
}

/// An AF_PACKET socket on one interface: frames in with their VLAN tags, frames out as given.
#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
    groups: Groups,
}

fn last_error(what: &str) -> io::Error {
    let e = io::Error::last_os_error();
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// `setsockopt` of one plain value.
fn set_option<T>(fd: &OwnedFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    let len = libc::socklen_t::try_from(size_of::<T>())
        .map_err(|_| io::Error::other("socket option too large"))?;
    // SAFETY: `fd` is an open socket owned by the caller; `value` points to `len` readable bytes that live for
    // the call, and the kernel only reads them.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast::<libc::c_void>(),
            len,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn membership(ifindex: libc::c_int, kind: libc::c_int, mac: Option<Mac>) -> libc::packet_mreq {
    let mut address = [0u8; 8];
    if let Some(mac) = mac {
        address[..6].copy_from_slice(&mac.0);
    }
    libc::packet_mreq {
        mr_ifindex: ifindex,
        mr_type: kind as libc::c_ushort,
        mr_alen: if mac.is_some() { 6 } else { 0 },
        mr_address: address,
    }
}

impl PacketSocket {
    /// Opens a socket on the interface with index `ifindex`, with VLAN tags reported and, when `passive`, the
    /// LLDP and CDP groups joined (falling back to promiscuous mode, then to neither: see [`Groups`]).
    pub fn open(
        ifindex: u32,
        passive: Passive,
        read_timeout: Duration,
    ) -> io::Result<PacketSocket> {
        let protocol = (libc::ETH_P_ALL as u16).to_be();
        let index = libc::c_int::try_from(ifindex)
            .map_err(|_| io::Error::other(format!("interface index {ifindex} out of range")))?;
        // Protocol 0 first, so no other interface's frame is queued before the bind names ours (libpcap does the
        // same); the bind sets ETH_P_ALL.
        // SAFETY: plain socket(2) call with constant arguments; the result is checked before use.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a new, valid descriptor that nothing else owns; OwnedFd closes it once.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        set_option(
            &fd,
            libc::SOL_PACKET,
            libc::PACKET_AUXDATA,
            &1 as &libc::c_int,
        )
        .map_err(|e| io::Error::new(e.kind(), format!("PACKET_AUXDATA: {e}")))?;
        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value that is then filled in.
        let mut addr: libc::sockaddr_ll = unsafe { zeroed() };
        addr.sll_family = libc::AF_PACKET as libc::c_ushort;
        addr.sll_protocol = protocol;
        addr.sll_ifindex = index;
        // SAFETY: `addr` is a valid sockaddr_ll for the whole call and the length passed is its size.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_ll).cast::<libc::sockaddr>(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(last_error("binding to the interface"));
        }
        let timeout = libc::timeval {
            tv_sec: read_timeout.as_secs() as libc::time_t,
            tv_usec: read_timeout.subsec_micros() as libc::suseconds_t,
        };
        set_option(&fd, libc::SOL_SOCKET, libc::SO_RCVTIMEO, &timeout)?;
        // A bigger queue for bursts (the kernel caps it at net.core.rmem_max); a refusal only costs drops.
        let _ = set_option(
            &fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            &(1 << 20) as &libc::c_int,
        );
        let groups = join(&fd, index, passive);
        Ok(PacketSocket { fd, groups })
    }

    /// How the LLDP and CDP groups are heard.
    pub fn groups(&self) -> &Groups {
        &self.groups
    }

    /// A buffer for [`PacketSocket::recv`]: the largest frame, and room for its tag.
    pub fn buffer() -> Vec<u8> {
        vec![0; FRAME_MAX + TAG_LEN]
    }

    /// The next frame, read into `buf` (from [`PacketSocket::buffer`]), or `Ok(None)` when the read timeout passed
    /// with none. Safe to call from one thread while another sends.
    pub fn recv<'b>(&self, buf: &'b mut [u8]) -> io::Result<Option<Received<'b>>> {
        if buf.len() < TAG_LEN + 64 {
            return Err(io::Error::other("receive buffer too small"));
        }
        // SAFETY: sockaddr_ll is plain old data; all-zero is valid and the kernel fills it in.
        let mut from: libc::sockaddr_ll = unsafe { zeroed() };
        // u64 words keep the control buffer aligned for cmsghdr; room for more than the auxdata message.
        let mut control = [0u64; 16];
        let room = buf.len().saturating_sub(TAG_LEN);
        let mut iov = libc::iovec {
            iov_base: buf[TAG_LEN..].as_mut_ptr().cast::<libc::c_void>(),
            iov_len: room,
        };
        // SAFETY: msghdr is plain old data; all-zero is valid and every pointer set below is filled in.
        let mut msg: libc::msghdr = unsafe { zeroed() };
        msg.msg_name = (&mut from as *mut libc::sockaddr_ll).cast::<libc::c_void>();
        msg.msg_namelen = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast::<libc::c_void>();
        msg.msg_controllen = size_of::<[u64; 16]>() as _;
        // SAFETY: every buffer `msg` points to (`from`, `iov` → `buf[TAG_LEN..]`, `control`) is valid,
        // writable, as long as its stated length, and outlives the call.
        let n = unsafe { libc::recvmsg(self.fd.as_raw_fd(), &mut msg, libc::MSG_TRUNC) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock
                | io::ErrorKind::TimedOut
                | io::ErrorKind::Interrupted => Ok(None),
                _ => Err(e),
            };
        }
        // MSG_TRUNC returns the frame's real length; only what fit was copied.
        let len = (n as usize).min(room);
        // A cut control message could have lost the tag: such a frame's VLAN is unknown, so it is skipped.
        if msg.msg_flags & libc::MSG_CTRUNC != 0 {
            return Ok(None);
        }
        let tag = auxdata_tag(&msg);
        let outgoing = from.sll_pkttype == libc::PACKET_OUTGOING;
        let frame = match tag {
            // Put the tag back between the source MAC and the EtherType: shift the addresses left by 4 bytes.
            Some((tpid, tci)) if len >= 12 => {
                buf.copy_within(TAG_LEN..TAG_LEN + 12, 0);
                buf[12..14].copy_from_slice(&tpid.to_be_bytes());
                buf[14..16].copy_from_slice(&tci.to_be_bytes());
                &buf[..len + TAG_LEN]
            }
            _ => &buf[TAG_LEN..TAG_LEN + len],
        };
        Ok(Some(Received { frame, outgoing }))
    }

    /// Sends one whole Ethernet frame out of the interface.
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        // SAFETY: `frame` is valid for reads of its length for the whole call.
        let n = unsafe {
            libc::send(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast::<libc::c_void>(),
                frame.len(),
                0,
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}

/// Joins the LLDP and CDP groups and makes the interface promiscuous, as asked; a refusal is kept, not fatal.
fn join(fd: &OwnedFd, ifindex: libc::c_int, passive: Passive) -> Groups {
    let groups = passive.groups.then(|| {
        GROUPS.iter().try_for_each(|group| {
            let m = membership(ifindex, libc::PACKET_MR_MULTICAST, Some(*group));
            set_option(fd, libc::SOL_PACKET, libc::PACKET_ADD_MEMBERSHIP, &m)
                .map_err(|e| format!("joining {group}: {e}"))
        })
    });
    let promiscuous = passive.promiscuous.then(|| {
        let m = membership(ifindex, libc::PACKET_MR_PROMISC, None);
        set_option(fd, libc::SOL_PACKET, libc::PACKET_ADD_MEMBERSHIP, &m)
            .map_err(|e| format!("promiscuous mode: {e}"))
    });
    Groups {
        groups,
        promiscuous,
    }
}

/// The VLAN tag the kernel stripped from the frame `msg` holds, as (TPID, TCI), from its PACKET_AUXDATA message.
fn auxdata_tag(msg: &libc::msghdr) -> Option<(u16, u16)> {
    // SAFETY: `msg` was just filled by recvmsg; CMSG_FIRSTHDR/CMSG_NXTHDR stay inside `msg_control` as long as
    // `msg_controllen`, and CMSG_DATA of a header they return points inside it too. The payload is read with
    // `read_unaligned` after checking the message is long enough for a tpacket_auxdata.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(msg);
        while !cmsg.is_null() {
            let header = &*cmsg;
            let needed = libc::CMSG_LEN(size_of::<libc::tpacket_auxdata>() as u32) as usize;
            if header.cmsg_level == libc::SOL_PACKET
                && header.cmsg_type == libc::PACKET_AUXDATA
                && header.cmsg_len as usize >= needed
            {
                let aux =
                    std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::tpacket_auxdata>());
                return tag_of(&aux);
            }
            cmsg = libc::CMSG_NXTHDR(msg, cmsg);
        }
    }
    None
}

/// libpcap's rule: a tag is present when the kernel says so, or (older kernels) when the TCI is not zero; the TPID
/// is 802.1Q unless the kernel names another.
fn tag_of(aux: &libc::tpacket_auxdata) -> Option<(u16, u16)> {
    let present = aux.tp_status & libc::TP_STATUS_VLAN_VALID != 0 || aux.tp_vlan_tci != 0;
    if !present {
        return None;
    }
    let tpid = if aux.tp_status & libc::TP_STATUS_VLAN_TPID_VALID != 0 && aux.tp_vlan_tpid != 0 {
        aux.tp_vlan_tpid
    } else {
        TPID_8021Q
    };
    Some((tpid, aux.tp_vlan_tci))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aux(status: u32, tci: u16, tpid: u16) -> libc::tpacket_auxdata {
        libc::tpacket_auxdata {
            tp_status: status,
            tp_len: 60,
            tp_snaplen: 60,
            tp_mac: 0,
            tp_net: 14,
            tp_vlan_tci: tci,
            tp_vlan_tpid: tpid,
        }
    }

    /// An untagged frame has no tag to put back.
    #[test]
    fn no_tag_without_vlan_status() {
        assert_eq!(tag_of(&aux(0, 0, 0)), None);
    }

    /// A frame of the voice VLAN (priority 5, VLAN 20) gets its 802.1Q tag back.
    #[test]
    fn voice_vlan_tag_is_restored() {
        let tci = 5 << 13 | 20;
        assert_eq!(
            tag_of(&aux(libc::TP_STATUS_VLAN_VALID, tci, 0)),
            Some((0x8100, tci))
        );
    }

    /// A priority-tagged frame (VLAN 0) still had a tag; the kernel's VLAN_VALID flag says so.
    #[test]
    fn priority_tag_with_vlan_zero_is_kept() {
        assert_eq!(
            tag_of(&aux(libc::TP_STATUS_VLAN_VALID, 5 << 13, 0)),
            Some((0x8100, 5 << 13))
        );
    }

    /// An 802.1ad service tag keeps its TPID when the kernel reports it.
    #[test]
    fn service_tag_keeps_its_tpid() {
        let status = libc::TP_STATUS_VLAN_VALID | libc::TP_STATUS_VLAN_TPID_VALID;
        assert_eq!(tag_of(&aux(status, 100, 0x88a8)), Some((0x88a8, 100)));
    }
}
