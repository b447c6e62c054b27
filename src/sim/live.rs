//! Makes recorded pages live: the literals of the recorded phone (MAC, model, firmware, address, uptime) become
//! the simulated phone's, form controls show its current configuration, REST JSON its current values, the CSRF
//! meta its session's token, and the application log its own history.

use super::phone::PhoneState;
use crate::fixture::markup;
use crate::fixture::redact::{REDACTED, replace_meta_content};

/// The body of a recorded page, made live for this phone.
pub fn render(body: &str, p: &PhoneState, csrf: Option<&str>) -> String {
    let rec = &p.pages.recorded;
    let mut out = body.to_string();
    let pairs = [
        (rec.mac.to_string(), p.mac.to_string()),
        (rec.mac.plain_lower(), p.mac.plain_lower()),
        (rec.mac.colon_lower(), p.mac.colon_lower()),
        (
            rec.mac.colon_lower().to_ascii_uppercase(),
            p.mac.colon_lower().to_ascii_uppercase(),
        ),
        (rec.firmware.clone(), p.firmware.clone()),
        (rec.model.clone(), p.model.clone()),
        (rec.ip.clone(), p.ip.to_string()),
        (rec.uptime.clone(), p.uptime_string()),
    ];
    for (from, to) in pairs {
        if !from.is_empty() && from != to {
            out = out.replace(&from, &to);
        }
    }
    if let Some(token) = csrf {
        out = replace_meta_content(&out, token);
    } else if out.contains(REDACTED) {
        out = replace_meta_content(&out, "");
    }
    for f in &p.pages.fields {
        let value = p.config.get(&f.paramname).map(String::as_str).unwrap_or("");
        out = if f.is_select {
            set_select(&out, &f.paramname, value)
        } else {
            set_input(&out, &f.paramname, value)
        };
        // The value the provisioning server's files set shows in the control's `config` attribute (S56).
        if let Some(v) = p.from_files.get(&f.paramname) {
            out = set_attr(&out, &f.paramname, "config", v);
        }
    }
    out
}

/// Set an existing attribute `attr="…"` on the control carrying `paramname="<param>"` (any case, any quoting; left
/// alone when the recorded control has no such attribute: the page is served as recorded).
pub fn set_attr(html: &str, param: &str, attr: &str, value: &str) -> String {
    let Some(tag) = markup::tag_with_attr(html, "paramname", param) else {
        return html.to_string();
    };
    match markup::attr_span(&html[tag.clone()], attr) {
        Some(v) => markup::splice(
            html,
            tag.start + v.start..tag.start + v.end,
            &escape_attr(value),
        ),
        None => html.to_string(),
    }
}

/// Set `value="…"` on the input carrying `paramname="<param>"` (added before the tag's end when it has none).
pub fn set_input(html: &str, param: &str, value: &str) -> String {
    let Some(tag) = markup::tag_with_attr(html, "paramname", param) else {
        return html.to_string();
    };
    let escaped = escape_attr(value);
    let text = &html[tag.clone()];
    match markup::attr_span(text, "value") {
        Some(v) => markup::splice(html, tag.start + v.start..tag.start + v.end, &escaped),
        None => {
            let cut = text
                .strip_suffix("/>")
                .map_or(text.len() - 1, |t| t.trim_end().len());
            markup::splice(
                html,
                tag.start + cut..tag.start + cut,
                &format!(" value=\"{escaped}\""),
            )
        }
    }
}

/// Mark the option with `value` selected in the select carrying `paramname="<param>"`: the `selected` attribute
/// leaves the other options and goes to this one, spelled as the page spells it (` selected="selected"` when no
/// option had one).
pub fn set_select(html: &str, param: &str, value: &str) -> String {
    let Some(select) = markup::tag_with_attr(html, "paramname", param) else {
        return html.to_string();
    };
    let Some(close) = markup::find_ci(html, "</select", select.end) else {
        return html.to_string();
    };
    let options: Vec<_> = markup::start_tags(html, "option", select.end)
        .take_while(|r| r.end <= close)
        .collect();
    // The page's own spelling of the attribute, from the option that has it.
    let spelling = options
        .iter()
        .find_map(|r| selected_attr(&html[r.clone()]).map(|(_, text)| text))
        .unwrap_or_else(|| "selected=\"selected\"".to_string());
    let mut out = html[..select.end].to_string();
    let mut at = select.end;
    for opt in options {
        out.push_str(&html[at..opt.start]);
        let tag = &html[opt.clone()];
        let mut kept = match selected_attr(tag) {
            Some((range, _)) => {
                let start = tag[..range.start].trim_end().len();
                format!("{}{}", &tag[..start], &tag[range.end..])
            }
            None => tag.to_string(),
        };
        if markup::attr_value(&kept, "value") == Some(escape_attr(value).as_str()) {
            let v = markup::attr_span(&kept, "value").unwrap_or(0..0);
            let after = v.end + usize::from(kept[v.end..].starts_with(['"', '\'']));
            kept = format!("{} {spelling}{}", &kept[..after], &kept[after..]);
        }
        out.push_str(&kept);
        at = opt.end;
    }
    out.push_str(&html[at..]);
    out
}

/// The `selected` attribute of an option tag: its byte range (name through value and closing quote) and text.
fn selected_attr(tag: &str) -> Option<(std::ops::Range<usize>, String)> {
    let a = markup::attrs(tag)
        .into_iter()
        .find(|a| tag[a.name.clone()].eq_ignore_ascii_case("selected"))?;
    let full = a.full(tag);
    Some((full.clone(), tag[full].to_string()))
}

fn escape_attr(v: &str) -> String {
    v.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// REST JSON with the phone's current values in the keys it has.
pub fn render_json(body: &str, p: &PhoneState) -> String {
    let Ok(mut v) = serde_json::from_str::<serde_json::Value>(body) else {
        return render(body, p, None);
    };
    patch_json(&mut v, p);
    serde_json::to_string_pretty(&v).unwrap_or_else(|_| body.to_string())
}

fn patch_json(v: &mut serde_json::Value, p: &PhoneState) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                let live = match k.as_str() {
                    "FirmwareRelease" => Some(p.firmware.clone()),
                    "MACAddress" => Some(p.mac.plain_lower()),
                    "IPV4Address" => Some(p.ip.to_string()),
                    "ModelNumber" => Some(p.model.clone()),
                    "UpTimeSinceLastReboot" => Some(p.uptime_string()),
                    "ProvServerAddress" => Some(p.server_name()),
                    "ProvServerType" => Some(p.server_type_name()),
                    "RegistrationStatus" => Some(
                        if p.line.registered {
                            "registered"
                        } else {
                            "unregistered"
                        }
                        .into(),
                    ),
                    "Label" => Some(p.line.label.clone()),
                    _ => None,
                };
                match live {
                    Some(s) if val.is_string() => *val = Value::String(s),
                    _ => patch_json(val, p),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| patch_json(i, p)),
        _ => {}
    }
}

/// The application log in the phones' line format, `MMDDhhmmss|module|level|00|text`, oldest first.
pub fn render_log(p: &PhoneState, wall_epoch: std::time::SystemTime) -> String {
    let mut out = String::new();
    for l in &p.log {
        let t = wall_epoch + std::time::Duration::from_secs_f64(l.at.max(0.0));
        let (_, mo, d, h, mi, s, _) = crate::clock::civil(t);
        out.push_str(&format!(
            "{mo:02}{d:02}{h:02}{mi:02}{s:02}|{:<5}|{}|00|{}\n",
            l.module, l.level, l.text
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An input's value attribute is replaced, whatever it was.
    #[test]
    fn input_value_is_replaced() {
        let page = r#"<td><input name="480" paramname="device.prov.serverName" type="text" value="" default=""/></td>"#;
        let out = set_input(
            page,
            "device.prov.serverName",
            "https://p.example.test/a?b=1&c=2",
        );
        assert!(
            out.contains(r#"value="https://p.example.test/a?b=1&amp;c=2""#),
            "{out}"
        );
        assert!(out.contains(r#"default="""#));
    }

    /// Exactly the wanted option ends up selected.
    #[test]
    fn select_moves_selection() {
        let page = r#"<select name="482" paramname="device.prov.serverType"><option value="2" selected="selected">HTTP</option><option value="3">HTTPS</option></select><p/>"#;
        let out = set_select(page, "device.prov.serverType", "3");
        assert_eq!(
            out,
            r#"<select name="482" paramname="device.prov.serverType"><option value="2">HTTP</option><option value="3" selected="selected">HTTPS</option></select><p/>"#
        );
    }

    /// Pages as phones send them (`paramName`, single quotes, bare `selected`, line breaks inside tags) are made
    /// live the same way, and every byte the edit does not touch is kept.
    #[test]
    fn real_spellings_are_edited_in_place() {
        let page = "<select name='482'\r\n paramName='device.prov.serverType'><option value='2' selected>HTTP</option>\r\n<OPTION value='3'>HTTPS</OPTION></select>\r\n<input paramName=\"device.prov.serverName\" name=\"480\" value=\"\" config=\"\">";
        let out = set_select(page, "device.prov.serverType", "3");
        assert_eq!(
            out,
            page.replace("value='2' selected>", "value='2'>")
                .replace("value='3'>", "value='3' selected>")
        );
        let out = set_input(&out, "device.prov.serverName", "https://p.example.test/");
        assert!(
            out.contains("name=\"480\" value=\"https://p.example.test/\" config"),
            "{out}"
        );
        let out = set_attr(
            &out,
            "device.prov.serverName",
            "config",
            "https://c.example.test/",
        );
        assert!(out.contains("config=\"https://c.example.test/\">"), "{out}");
        assert!(out.contains("paramName="), "the phone's spelling is kept");
    }
}
