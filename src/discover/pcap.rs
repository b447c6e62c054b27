//! Offline discovery: the same inventory built from a capture file (pcap or pcapng, as tcpdump, Wireshark or a
//! switch's mirror port write them), read with the `pcap-file` crate. Nothing is sent and no interface is
//! touched, so a technician who may not run the agent on a customer's switch can hand over a capture instead.
//! Frames are timestamped with the capture's own clock.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use pcap_file::DataLink;
use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::{Block, PcapNgReader};

use super::inventory::Inventory;
use super::sighting;

/// Why a capture could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PcapError {
    #[error("capture {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "capture {path} is neither pcap nor pcapng (it starts with {magic}). Fix: write it with `tcpdump -i IF -w FILE` or save it from Wireshark as pcap/pcapng"
    )]
    NotACapture { path: PathBuf, magic: String },
    #[error(
        "capture {path} has link type {link} on interface {interface}, not Ethernet. Fix: capture on the wired interface itself (`tcpdump -i eth0 -w FILE`, not `-i any`)"
    )]
    NotEthernet {
        path: PathBuf,
        link: String,
        interface: u32,
    },
    #[error(
        "capture {path}: {reason} after {frames} frames (the inventory of those is kept). Fix: the file may be truncated; copy it again"
    )]
    Corrupt {
        path: PathBuf,
        reason: String,
        frames: u64,
    },
}

/// What reading a capture found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CaptureStats {
    pub frames: u64,
    /// Frames that became sightings (ARP, DHCP, LLDP, CDP).
    pub read: u64,
}

/// Reads a capture into `inventory`. A file cut short keeps what was read before the cut, reported as `Corrupt`
/// together with the stats so the caller can still show the inventory.
pub fn read_into(
    path: &Path,
    inventory: &mut Inventory,
) -> Result<CaptureStats, (PcapError, CaptureStats)> {
    let open = |source| {
        (
            PcapError::Open {
                path: path.into(),
                source,
            },
            CaptureStats::default(),
        )
    };
    // Peek at the magic number through the reader's buffer: the file is opened and read once.
    let mut reader = std::io::BufReader::new(std::fs::File::open(path).map_err(open)?);
    let magic: [u8; 4] = reader
        .fill_buf()
        .map_err(open)?
        .get(..4)
        .and_then(|m| m.try_into().ok())
        .ok_or_else(|| open(std::io::ErrorKind::UnexpectedEof.into()))?;
    let mut stats = CaptureStats::default();
    let mut take = |data: &[u8], ts: Duration, stats: &mut CaptureStats| {
        stats.frames += 1;
        if let Some(s) = sighting::from_frame(data, UNIX_EPOCH + ts, None) {
            stats.read += 1;
            inventory.merge(s);
        }
    };
    let corrupt = |reason: String, stats: CaptureStats| {
        (
            PcapError::Corrupt {
                path: path.into(),
                reason,
                frames: stats.frames,
            },
            stats,
        )
    };
    match u32::from_le_bytes(magic) {
        0x0a0d_0d0a => {
            let mut r = PcapNgReader::new(reader).map_err(|e| corrupt(e.to_string(), stats))?;
            let mut links: Vec<DataLink> = Vec::new();
            while let Some(block) = r.next_block() {
                match block.map_err(|e| corrupt(e.to_string(), stats))? {
                    Block::InterfaceDescription(i) => links.push(i.linktype),
                    Block::EnhancedPacket(p) => {
                        check_link(path, links.get(p.interface_id as usize), p.interface_id)
                            .map_err(|e| (e, stats))?;
                        take(&p.data, p.timestamp, &mut stats);
                    }
                    Block::SimplePacket(p) => {
                        check_link(path, links.first(), 0).map_err(|e| (e, stats))?;
                        take(&p.data, Duration::ZERO, &mut stats);
                    }
                    _ => {}
                }
            }
        }
        0xa1b2_c3d4 | 0xd4c3_b2a1 | 0xa1b2_3c4d | 0x4d3c_b2a1 => {
            let mut r = PcapReader::new(reader).map_err(|e| corrupt(e.to_string(), stats))?;
            check_link(path, Some(&r.header().datalink), 0).map_err(|e| (e, stats))?;
            while let Some(packet) = r.next_packet() {
                let p = packet.map_err(|e| corrupt(e.to_string(), stats))?;
                take(&p.data, p.timestamp, &mut stats);
            }
        }
        _ => {
            return Err((
                PcapError::NotACapture {
                    path: path.into(),
                    magic: magic.iter().map(|b| format!("{b:02x}")).collect(),
                },
                stats,
            ));
        }
    }
    Ok(stats)
}

fn check_link(path: &Path, link: Option<&DataLink>, interface: u32) -> Result<(), PcapError> {
    match link {
        Some(DataLink::ETHERNET) => Ok(()),
        other => Err(PcapError::NotEthernet {
            path: path.into(),
            link: other.map_or_else(
                || "unknown (no interface block)".into(),
                |l| format!("{l:?}"),
            ),
            interface,
        }),
    }
}
