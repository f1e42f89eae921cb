//! TCP options: every option kind, every malformed case (RFC 9293 §3.1, RFC 7323,
//! RFC 2018), Linux's emission layout, and the raw in-order view.

use tcp_core::SeqNum;
use tcp_core::wire::{
    OptionLayout, SackBlock, SackBlocks, TcpOption, TcpOptions, Timestamps, WireError, options_iter,
};

fn block(left: u32, right: u32) -> SackBlock {
    SackBlock {
        left: SeqNum::new(left),
        right: SeqNum::new(right),
    }
}

fn blocks(list: &[(u32, u32)]) -> SackBlocks {
    let mut b = SackBlocks::new();
    for &(l, r) in list {
        assert!(b.push(block(l, r)));
    }
    b
}

fn emit(opts: &TcpOptions) -> Vec<u8> {
    let mut buf = [0u8; 40];
    let n = opts.emit(&mut buf).unwrap();
    assert_eq!(n, opts.encoded_len());
    buf[..n].to_vec()
}

fn items(raw: &[u8]) -> Vec<Result<TcpOption<'_>, WireError>> {
    options_iter(raw).collect()
}

// ---- each option parses ----

#[test]
fn mss_option_parses() {
    let o = TcpOptions::parse(&[2, 4, 0x05, 0xb4]).unwrap();
    assert_eq!(o.mss, Some(1460));
    assert_eq!(
        o,
        TcpOptions {
            mss: Some(1460),
            ..Default::default()
        }
    );
}

#[test]
fn window_scale_option_keeps_the_raw_shift_even_above_14() {
    assert_eq!(TcpOptions::parse(&[3, 3, 7]).unwrap().window_scale, Some(7));
    // RFC 7323 §2.3: clamping to 14 is the connection's business, not the codec's.
    assert_eq!(
        TcpOptions::parse(&[3, 3, 200]).unwrap().window_scale,
        Some(200)
    );
}

#[test]
fn sack_permitted_option_parses() {
    assert!(TcpOptions::parse(&[4, 2]).unwrap().sack_permitted);
    assert!(!TcpOptions::parse(&[]).unwrap().sack_permitted);
}

#[test]
fn timestamps_option_parses_val_and_ecr() {
    let o = TcpOptions::parse(&[8, 10, 0, 0, 1, 0, 0xff, 0xff, 0xff, 0xfe]).unwrap();
    assert_eq!(
        o.timestamps,
        Some(Timestamps {
            val: 256,
            ecr: 0xffff_fffe
        })
    );
}

#[test]
fn sack_option_with_one_to_four_blocks_parses_in_order() {
    for n in 1..=4u32 {
        let mut raw = vec![5, 2 + 8 * n as u8];
        for i in 0..n {
            raw.extend_from_slice(&(1000 * i).to_be_bytes());
            raw.extend_from_slice(&(1000 * i + 500).to_be_bytes());
        }
        let o = TcpOptions::parse(&raw).unwrap();
        assert_eq!(o.sack_blocks.len(), n as usize);
        for (i, b) in o.sack_blocks.iter().enumerate() {
            assert_eq!(*b, block(1000 * i as u32, 1000 * i as u32 + 500));
        }
    }
}

#[test]
fn nops_are_single_bytes_between_options() {
    let o = TcpOptions::parse(&[1, 1, 1, 3, 3, 5, 1]).unwrap();
    assert_eq!(o.window_scale, Some(5));
    assert_eq!(items(&[1, 1]), vec![Ok(TcpOption::Nop), Ok(TcpOption::Nop)]);
}

#[test]
fn eol_ends_the_list_and_what_follows_is_ignored() {
    // After EOL comes garbage that would otherwise be an error (length 0).
    let o = TcpOptions::parse(&[2, 4, 0, 100, 0, 7, 0, 9]).unwrap();
    assert_eq!(o.mss, Some(100));
    assert_eq!(o.window_scale, None);
    assert_eq!(
        items(&[1, 0, 3, 0]),
        vec![Ok(TcpOption::Nop), Ok(TcpOption::Eol)]
    );
}

#[test]
fn unknown_kinds_are_skipped_by_their_length() {
    // Kind 30 (MPTCP) with 4 data bytes, kind 254 (experimental) with none, then MSS.
    let raw = [30, 6, 1, 2, 3, 4, 254, 2, 2, 4, 0x02, 0x18];
    let o = TcpOptions::parse(&raw).unwrap();
    assert_eq!(
        o,
        TcpOptions {
            mss: Some(536),
            ..Default::default()
        }
    );
    assert_eq!(
        items(&raw),
        vec![
            Ok(TcpOption::Unknown {
                kind: 30,
                data: &[1, 2, 3, 4]
            }),
            Ok(TcpOption::Unknown {
                kind: 254,
                data: &[]
            }),
            Ok(TcpOption::Mss(536)),
        ]
    );
}

#[test]
fn a_repeated_option_takes_the_last_value() {
    let o = TcpOptions::parse(&[2, 4, 0, 1, 2, 4, 0, 2]).unwrap();
    assert_eq!(o.mss, Some(2));
}

#[test]
fn empty_options_area_gives_no_options() {
    assert_eq!(TcpOptions::parse(&[]).unwrap(), TcpOptions::default());
    assert!(items(&[]).is_empty());
}

// ---- malformed options ----

#[test]
fn option_missing_its_length_byte_is_truncated() {
    for kind in [2, 3, 4, 5, 8, 99] {
        assert_eq!(
            TcpOptions::parse(&[1, kind]),
            Err(WireError::OptionTruncated { kind })
        );
    }
}

#[test]
fn option_length_zero_or_one_is_rejected() {
    for kind in [2, 3, 4, 5, 8, 99] {
        for len in [0, 1] {
            assert_eq!(
                TcpOptions::parse(&[kind, len, 0, 0]),
                Err(WireError::BadOptionLength { kind, len })
            );
        }
    }
}

#[test]
fn option_running_past_the_options_area_is_truncated() {
    assert_eq!(
        TcpOptions::parse(&[2, 4, 5]),
        Err(WireError::OptionTruncated { kind: 2 })
    );
    assert_eq!(
        TcpOptions::parse(&[99, 10, 1, 2, 3]),
        Err(WireError::OptionTruncated { kind: 99 })
    );
    assert_eq!(
        TcpOptions::parse(&[8, 10, 0, 0, 0, 0, 0, 0, 0]),
        Err(WireError::OptionTruncated { kind: 8 })
    );
}

#[test]
fn mss_with_wrong_length_is_rejected() {
    for len in [2, 3, 5, 6] {
        let mut raw = vec![2, len];
        raw.resize(usize::from(len), 0);
        assert_eq!(
            TcpOptions::parse(&raw),
            Err(WireError::BadOptionLength { kind: 2, len })
        );
    }
}

#[test]
fn window_scale_with_wrong_length_is_rejected() {
    for len in [2, 4] {
        let mut raw = vec![3, len];
        raw.resize(usize::from(len), 0);
        assert_eq!(
            TcpOptions::parse(&raw),
            Err(WireError::BadOptionLength { kind: 3, len })
        );
    }
}

#[test]
fn sack_permitted_with_wrong_length_is_rejected() {
    assert_eq!(
        TcpOptions::parse(&[4, 3, 0]),
        Err(WireError::BadOptionLength { kind: 4, len: 3 })
    );
    assert_eq!(
        TcpOptions::parse(&[4, 4, 0, 0]),
        Err(WireError::BadOptionLength { kind: 4, len: 4 })
    );
}

#[test]
fn timestamps_with_wrong_length_is_rejected() {
    for len in [2, 8, 9, 11, 12] {
        let mut raw = vec![8, len];
        raw.resize(usize::from(len), 0);
        assert_eq!(
            TcpOptions::parse(&raw),
            Err(WireError::BadOptionLength { kind: 8, len })
        );
    }
}

#[test]
fn sack_length_not_two_plus_eight_n_is_rejected() {
    // RFC 2018 §3: length 2 + 8n, 1 <= n <= 4.
    for len in [2u8, 3, 9, 11, 17, 33, 35] {
        let mut raw = vec![5, len];
        raw.resize(usize::from(len), 0);
        assert_eq!(TcpOptions::parse(&raw), Err(WireError::BadSackLength(len)));
    }
}

#[test]
fn sack_with_five_blocks_is_rejected() {
    // Does not fit a real header, but the options parser must still refuse it.
    let mut raw = vec![5, 42];
    raw.resize(42, 0);
    assert_eq!(TcpOptions::parse(&raw), Err(WireError::BadSackLength(42)));
}

#[test]
fn options_iter_yields_the_error_then_stops() {
    assert_eq!(
        items(&[1, 3, 0, 1, 1]),
        vec![
            Ok(TcpOption::Nop),
            Err(WireError::BadOptionLength { kind: 3, len: 0 })
        ]
    );
}

// ---- emission in Linux's layout ----

#[test]
fn syn_options_with_timestamps_emit_as_mss_sackok_ts_nop_wscale() {
    let o = TcpOptions {
        mss: Some(1460),
        window_scale: Some(7),
        sack_permitted: true,
        timestamps: Some(Timestamps { val: 1, ecr: 0 }),
        sack_blocks: SackBlocks::new(),
        layout: OptionLayout::Linux,
    };
    assert_eq!(
        emit(&o),
        [
            2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7
        ]
    );
}

// ---- emission in FreeBSD's layout (tcp_addoptions) ----

fn bsd(o: TcpOptions) -> TcpOptions {
    TcpOptions {
        layout: OptionLayout::Bsd,
        ..o
    }
}

#[test]
fn bsd_syn_options_emit_as_mss_nop_wscale_sackok_ts() {
    let o = bsd(TcpOptions {
        mss: Some(1460),
        window_scale: Some(6),
        sack_permitted: true,
        timestamps: Some(Timestamps { val: 100, ecr: 0 }),
        ..Default::default()
    });
    assert_eq!(
        emit(&o),
        [
            2, 4, 5, 180, 1, 3, 3, 6, 4, 2, 8, 10, 0, 0, 0, 100, 0, 0, 0, 0
        ]
    );
}

#[test]
fn bsd_synack_with_mss_and_sackok_pads_with_eol() {
    let o = bsd(TcpOptions {
        mss: Some(1460),
        sack_permitted: true,
        ..Default::default()
    });
    assert_eq!(emit(&o), [2, 4, 5, 180, 4, 2, 0, 0]);
    let mss_only = bsd(TcpOptions {
        mss: Some(1460),
        ..Default::default()
    });
    assert_eq!(emit(&mss_only), [2, 4, 5, 180]);
}

#[test]
fn bsd_data_segment_aligns_timestamps_and_sack_on_4n_plus_2() {
    let mut blocks = SackBlocks::new();
    blocks.push(SackBlock {
        left: SeqNum::new(200),
        right: SeqNum::new(300),
    });
    let o = bsd(TcpOptions {
        timestamps: Some(Timestamps { val: 1, ecr: 2 }),
        sack_blocks: blocks,
        ..Default::default()
    });
    assert_eq!(
        emit(&o),
        [
            1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1, 5, 10, 0, 0, 0, 200, 0, 0, 1, 44
        ]
    );
    // The same options parse back; only the layout is not a property of the bytes.
    let parsed = TcpOptions::parse(&emit(&o)).unwrap();
    assert_eq!(bsd(parsed), o);
}

#[test]
fn bsd_synack_with_wscale_but_no_timestamps_differs_from_linux() {
    let o = TcpOptions {
        mss: Some(1460),
        window_scale: Some(6),
        sack_permitted: true,
        ..Default::default()
    };
    assert_eq!(emit(&bsd(o)), [2, 4, 5, 180, 1, 3, 3, 6, 4, 2, 0, 0]);
    assert_eq!(emit(&o), [2, 4, 5, 180, 1, 1, 4, 2, 1, 3, 3, 6]);
}

#[test]
fn syn_options_without_timestamps_emit_as_mss_nop_nop_sackok_nop_wscale() {
    let o = TcpOptions {
        mss: Some(1460),
        window_scale: Some(7),
        sack_permitted: true,
        ..Default::default()
    };
    assert_eq!(emit(&o), [2, 4, 5, 180, 1, 1, 4, 2, 1, 3, 3, 7]);
}

#[test]
fn data_segment_timestamps_emit_as_nop_nop_ts() {
    let o = TcpOptions {
        timestamps: Some(Timestamps {
            val: 0x01020304,
            ecr: 0x05060708,
        }),
        ..Default::default()
    };
    assert_eq!(emit(&o), [1, 1, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8]);
}

#[test]
fn sack_blocks_emit_as_nop_nop_sack_after_timestamps() {
    let o = TcpOptions {
        timestamps: Some(Timestamps { val: 9, ecr: 8 }),
        sack_blocks: blocks(&[(100, 200), (300, 400)]),
        ..Default::default()
    };
    let raw = emit(&o);
    assert_eq!(raw.len(), 32);
    assert_eq!(&raw[..4], &[1, 1, 8, 10]);
    assert_eq!(&raw[12..16], &[1, 1, 5, 18]);
    assert_eq!(&raw[16..20], &100u32.to_be_bytes());
    assert_eq!(&raw[28..32], &400u32.to_be_bytes());
}

#[test]
fn mss_alone_and_no_options_emit_as_expected() {
    assert_eq!(emit(&TcpOptions::default()), Vec::<u8>::new());
    let o = TcpOptions {
        mss: Some(536),
        ..Default::default()
    };
    assert_eq!(emit(&o), [2, 4, 2, 24]);
}

#[test]
fn four_sack_blocks_without_timestamps_fill_36_bytes() {
    let o = TcpOptions {
        sack_blocks: blocks(&[(1, 2), (3, 4), (5, 6), (7, 8)]),
        ..Default::default()
    };
    assert_eq!(o.encoded_len(), 36);
    assert_eq!(TcpOptions::parse(&emit(&o)).unwrap(), o);
}

#[test]
fn combination_over_40_bytes_falls_back_to_the_compact_layout() {
    // Timestamps + window scale + 3 blocks (a legal 39-byte options area): Linux's layout
    // needs 12 + 4 + 28 = 44 bytes, the compact one 10 + 3 + 26 = 39, padded to 40.
    let o = TcpOptions {
        window_scale: Some(3),
        timestamps: Some(Timestamps { val: 1, ecr: 2 }),
        sack_blocks: blocks(&[(1, 2), (3, 4), (5, 6)]),
        ..Default::default()
    };
    assert_eq!(o.encoded_len(), 40);
    let raw = emit(&o);
    assert_eq!(&raw[..5], &[3, 3, 3, 8, 10]);
    assert_eq!(raw[39], 0, "padded with EOL");
    assert_eq!(TcpOptions::parse(&raw).unwrap(), o);
}

#[test]
fn options_that_cannot_fit_40_bytes_are_an_error_not_a_panic() {
    let o = TcpOptions {
        mss: Some(1),
        timestamps: Some(Timestamps { val: 1, ecr: 2 }),
        sack_blocks: blocks(&[(1, 2), (3, 4), (5, 6), (7, 8)]),
        ..Default::default()
    };
    let len = o.encoded_len();
    assert!(len > TcpOptions::MAX_LEN);
    let mut buf = [0u8; 64];
    assert_eq!(o.emit(&mut buf), Err(WireError::OptionsTooLong { len }));
}

#[test]
fn emitting_into_a_short_buffer_is_an_error() {
    let o = TcpOptions {
        mss: Some(1),
        ..Default::default()
    };
    let mut buf = [0u8; 3];
    assert_eq!(
        o.emit(&mut buf),
        Err(WireError::BufferTooSmall {
            needed: 4,
            available: 3
        })
    );
}

// ---- SackBlocks ----

#[test]
fn sack_blocks_hold_at_most_four() {
    let mut b = SackBlocks::new();
    for i in 0..4 {
        assert!(b.push(block(i, i + 1)));
    }
    assert!(!b.push(block(9, 10)));
    assert_eq!(b.len(), SackBlocks::MAX);
    assert_eq!(b.as_slice()[3], block(3, 4));
}

#[test]
fn truncated_and_cleared_sack_blocks_equal_fresh_ones() {
    let mut b = blocks(&[(1, 2), (3, 4), (5, 6)]);
    b.truncate(1);
    assert_eq!(b, blocks(&[(1, 2)]));
    assert_eq!(b.iter().count(), 1);
    b.truncate(5);
    assert_eq!(b.len(), 1);
    b.clear();
    assert!(b.is_empty());
    assert_eq!(b, SackBlocks::default());
    assert_eq!(format!("{b:?}"), "[]");
}

// ---- the raw view ----

#[test]
fn options_iter_lists_a_linux_syn_in_order() {
    let raw = [
        2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
    ];
    assert_eq!(
        items(&raw),
        vec![
            Ok(TcpOption::Mss(1460)),
            Ok(TcpOption::SackPermitted),
            Ok(TcpOption::Timestamps(Timestamps { val: 1, ecr: 0 })),
            Ok(TcpOption::Nop),
            Ok(TcpOption::WindowScale(7)),
        ]
    );
}

#[test]
fn single_options_emit_and_parse_back_to_themselves() {
    let all = [
        TcpOption::Eol,
        TcpOption::Nop,
        TcpOption::Mss(1460),
        TcpOption::WindowScale(14),
        TcpOption::SackPermitted,
        TcpOption::Sack(blocks(&[(1, 2), (u32::MAX, 5)])),
        TcpOption::Timestamps(Timestamps { val: 7, ecr: 8 }),
        TcpOption::Unknown {
            kind: 30,
            data: &[1, 2, 3],
        },
    ];
    for opt in all {
        let mut buf = [0u8; 40];
        let n = opt.emit(&mut buf).unwrap();
        assert_eq!(n, opt.encoded_len());
        assert_eq!(items(&buf[..n]), vec![Ok(opt)]);
    }
}

#[test]
fn single_option_emit_rejects_empty_sack_and_short_buffers() {
    let mut buf = [0u8; 40];
    assert_eq!(
        TcpOption::Sack(SackBlocks::new()).emit(&mut buf),
        Err(WireError::BadSackLength(2))
    );
    assert_eq!(
        TcpOption::Mss(1).emit(&mut buf[..2]),
        Err(WireError::BufferTooSmall {
            needed: 4,
            available: 2
        })
    );
}
