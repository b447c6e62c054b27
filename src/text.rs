//! Text from devices, made safe for where it goes. Whatever a device says is data, never control:
//! - on a terminal (live display, tables, logs) no control character passes: an ANSI/OSC escape sequence in a
//!   model string would otherwise drive the technician's terminal (colours, titles, hyperlinks, cursor moves);
//! - in a spreadsheet (`report.csv`, `activation.csv`) no cell starts a formula: OWASP's CSV-injection rule, a
//!   leading `=`, `+`, `-`, `@`, tab or carriage return is neutralised with a leading apostrophe.
//!
//! JSON needs nothing: serde escapes control characters itself.

use std::borrow::Cow;

/// `s` with every control character (C0, DEL, C1) shown as an inert escape (`\u{1b}`), ready for a terminal.
pub fn for_terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `s` as a spreadsheet cell that is never read as a formula (and shows no control characters).
pub fn for_spreadsheet(s: &str) -> Cow<'_, str> {
    let formula = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    match (formula, for_terminal(s)) {
        (false, clean) => clean,
        (true, clean) => Cow::Owned(format!("'{clean}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An OSC 8 hyperlink and a colour change from a hostile "model" string arrive as visible, inert text.
    #[test]
    fn escapes_become_visible_text() {
        let model = "VVX 450\u{1b}]8;;https://evil.test\u{7}click\u{1b}]8;;\u{7}\u{1b}[31m";
        let shown = for_terminal(model);
        assert!(!shown.chars().any(char::is_control), "{shown}");
        assert!(shown.starts_with("VVX 450\\u{1b}]8;;https://evil.test\\u{7}click"));
        assert_eq!(for_terminal("CCX 500 → 8.1.3"), "CCX 500 → 8.1.3");
    }

    /// Cells that a spreadsheet would evaluate are neutralised; ordinary ones are left alone.
    #[test]
    fn formulas_are_neutralised() {
        for cell in [
            "=HYPERLINK(\"https://evil.test\",\"open\")",
            "+1",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            assert!(for_spreadsheet(cell).starts_with('\''), "{cell:?}");
        }
        assert_eq!(for_spreadsheet("VVX 450"), "VVX 450");
        assert_eq!(for_spreadsheet("6.4.5.1210"), "6.4.5.1210");
    }

    proptest! {
        /// Whatever a device sends, nothing that reaches a terminal is a control character, and printable text
        /// passes unchanged.
        #[test]
        fn nothing_controls_the_terminal(s in any::<String>()) {
            let shown = for_terminal(&s);
            prop_assert!(!shown.chars().any(char::is_control));
            if !s.chars().any(char::is_control) {
                prop_assert_eq!(shown.as_ref(), s.as_str());
            }
            let cell = for_spreadsheet(&s);
            prop_assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']));
        }
    }
}
