//! Opt-in persona variants: the same recorded phone with the details in which real phones may differ from the
//! recordings — attribute case and order, whitespace and line ends, no CSRF meta, a wrong password answered 401,
//! a second session answered 400 or 412 — and the settings a site may have changed (plain HTTP switched on). They
//! show that a client (polyprov first) does not depend on one spelling.
//! Never part of the default mix; a test or `polyprov sim --variant` asks for them.

use serde::{Deserialize, Serialize};

use crate::fixture::PageSet;
use crate::fixture::markup;
use crate::profile::Profile;

/// One way a phone's answers may differ from the recorded ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// Every attribute name in upper case (`PARAMNAME`, `CONTENT`).
    AttributesUpper,
    /// Every attribute name in lower case (`paramname`, as browsers' DOMs show it).
    AttributesLower,
    /// The attributes of every start tag in reverse order (`content` before `name` on the CSRF meta).
    AttributesReversed,
    /// CRLF line ends, and attributes separated by a line break and a tab.
    CrlfSpacing,
    /// No CSRF meta on any page, and no token required.
    NoCsrfMeta,
    /// A wrong password answered with HTTP 401 (the recorded body) instead of 200.
    WrongPassword401,
    /// A second session answered with HTTP 400 instead of the profile's status.
    Conflict400,
    /// A second session answered with HTTP 412.
    Conflict412,
    /// The web server's plain HTTP mode switched on by the site (`httpd.cfg.enabled`, Web Config Mode HTTP/HTTPS):
    /// newer firmware serves HTTPS only by default (S33), the older clients S5 and S6 speak plain HTTP only.
    PlainHttp,
}

/// The page set with every markup body rewritten as the variants say.
pub fn pages(pages: &PageSet, variants: &[Variant]) -> PageSet {
    if variants.iter().all(|v| !v.edits_pages()) {
        return pages.clone();
    }
    pages.map_bodies(|body| {
        if !body.trim_start().starts_with('<') {
            return body.to_string();
        }
        variants
            .iter()
            .fold(body.to_string(), |b, v| v.edit_page(&b))
    })
}

/// The profile with the variants' answers (statuses, CSRF requirement) for this build.
pub fn profile(profile: &Profile, firmware: &str, variants: &[Variant]) -> Profile {
    let mut p = profile.clone();
    for v in variants {
        match v {
            Variant::WrongPassword401 => p.login.invalid_status = 401,
            Variant::Conflict400 => p.login.conflict_status = 400,
            Variant::Conflict412 => p.login.conflict_status = 412,
            Variant::PlainHttp => p.http.http = true,
            Variant::NoCsrfMeta => {
                for b in p.builds.iter_mut().filter(|b| b.firmware == firmware) {
                    b.csrf_meta = false;
                }
            }
            _ => {}
        }
    }
    p
}

impl Variant {
    fn edits_pages(self) -> bool {
        matches!(
            self,
            Variant::AttributesUpper
                | Variant::AttributesLower
                | Variant::AttributesReversed
                | Variant::CrlfSpacing
                | Variant::NoCsrfMeta
        )
    }

    fn edit_page(self, body: &str) -> String {
        match self {
            Variant::NoCsrfMeta => {
                let Some(r) = markup::start_tags(body, "meta", 0)
                    .find(|r| markup::attr_value(&body[r.clone()], "name") == Some("csrf-token"))
                else {
                    return body.to_string();
                };
                markup::splice(body, r, "")
            }
            Variant::CrlfSpacing => {
                let crlf = body.replace("\r\n", "\n").replace('\n', "\r\n");
                rewrite_tags(&crlf, |_, attrs| attrs.join("\r\n\t"))
            }
            Variant::AttributesUpper => rewrite_tags(body, |tag, attrs| {
                renamed(tag, attrs, |n| n.to_ascii_uppercase()).join(" ")
            }),
            Variant::AttributesLower => rewrite_tags(body, |tag, attrs| {
                renamed(tag, attrs, |n| n.to_ascii_lowercase()).join(" ")
            }),
            Variant::AttributesReversed => rewrite_tags(body, |_, attrs| {
                let mut a = attrs.to_vec();
                a.reverse();
                a.join(" ")
            }),
            _ => body.to_string(),
        }
    }
}

/// Each attribute's text with its name changed by `f`.
fn renamed(tag: &str, attrs: &[String], f: impl Fn(&str) -> String) -> Vec<String> {
    let _ = tag;
    attrs
        .iter()
        .map(|a| {
            let end = a.find(['=']).unwrap_or(a.len());
            format!("{}{}", f(&a[..end]), &a[end..])
        })
        .collect()
}

/// Rebuild every start tag that has attributes: `<name` + `join(attribute texts)` + its end (`/>` or `>`).
fn rewrite_tags(body: &str, join: impl Fn(&str, &[String]) -> String) -> String {
    let mut out = String::with_capacity(body.len() + body.len() / 8);
    let mut at = 0;
    for r in markup::start_tags(body, "", 0) {
        let tag = &body[r.clone()];
        let attrs = markup::attrs(tag);
        if attrs.is_empty() {
            continue;
        }
        let texts: Vec<String> = attrs.iter().map(|a| tag[a.full(tag)].to_string()).collect();
        let name_end = attrs[0].name.start;
        let head = tag[..name_end].trim_end();
        let tail = if tag.ends_with("/>") { "/>" } else { ">" };
        out.push_str(&body[at..r.start]);
        out.push_str(head);
        out.push(' ');
        out.push_str(&join(tag, &texts));
        out.push_str(tail);
        at = r.end;
    }
    out.push_str(&body[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "<head>\n<meta name=\"csrf-token\" content=\"T\"/>\n</head>\n<select name=\"482\" paramName=\"device.prov.serverType\"><option value=\"2\" selected=\"selected\">HTTP</option></select>";

    #[test]
    fn attribute_spellings() {
        let up = Variant::AttributesUpper.edit_page(PAGE);
        assert!(
            up.contains("<select NAME=\"482\" PARAMNAME=\"device.prov.serverType\">"),
            "{up}"
        );
        assert!(
            up.contains("<option VALUE=\"2\" SELECTED=\"selected\">"),
            "{up}"
        );
        let rev = Variant::AttributesReversed.edit_page(PAGE);
        assert!(
            rev.contains("<meta content=\"T\" name=\"csrf-token\"/>"),
            "{rev}"
        );
        let crlf = Variant::CrlfSpacing.edit_page(PAGE);
        assert!(
            crlf.contains("<head>\r\n<meta name=\"csrf-token\"\r\n\tcontent=\"T\"/>\r\n"),
            "{crlf}"
        );
        let none = Variant::NoCsrfMeta.edit_page(PAGE);
        assert!(
            !none.contains("csrf-token") && none.contains("<head>\n\n</head>"),
            "{none}"
        );
    }
}
