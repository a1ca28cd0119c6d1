//! Just enough XML reading for `gluster ... --xml` answers (flat, known shapes).

/// Inner text of every `<tag>` / `<tag attr=..>` element, in order. Same-name nesting is
/// not supported (gluster's answers do not nest same-name elements where we look).
pub(crate) fn elements<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut rest = xml;
    while let Some(at) = rest.find(&open) {
        let after = &rest[at + open.len()..];
        // Reject a longer tag name sharing the prefix (<node> vs <nodeCount>).
        let Some(next) = after.chars().next() else {
            break;
        };
        if next != '>' && next != ' ' && next != '/' {
            rest = after;
            continue;
        }
        let Some(gt) = after.find('>') else { break };
        if after[..gt].ends_with('/') {
            out.push("");
            rest = &after[gt + 1..];
            continue;
        }
        let body = &after[gt + 1..];
        let Some(end) = body.find(&close) else { break };
        out.push(&body[..end]);
        rest = &body[end + close.len()..];
    }
    out
}

/// Unescaped text of the first `<tag>` element.
pub(crate) fn first(xml: &str, tag: &str) -> Option<String> {
    elements(xml, tag).first().map(|s| unescape(s))
}

/// The text before the first child element (`<brick ..>TEXT<name>..`).
pub(crate) fn leading_text(inner: &str) -> String {
    unescape(inner.split('<').next().unwrap_or(""))
}

pub(crate) fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let Some(semi) = tail.find(';') else {
            out.push_str(tail);
            return out;
        };
        let ent = &tail[1..semi];
        let ch = match ent {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => ent
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| ent.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &tail[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_elements() {
        let x = "<a><nodeCount>2</nodeCount><node><p>x &amp; y</p></node><node><p/></node></a>";
        let nodes = elements(x, "node");
        assert_eq!(nodes.len(), 2);
        assert_eq!(first(nodes[0], "p").as_deref(), Some("x & y"));
        assert_eq!(first(nodes[1], "p").as_deref(), Some(""));
        assert_eq!(first(x, "nodeCount").as_deref(), Some("2"));
        let b = r#"<brick uuid="u">vm:/t/b0<name>vm:/t/b0</name></brick>"#;
        assert_eq!(leading_text(elements(b, "brick")[0]), "vm:/t/b0");
        assert_eq!(unescape("&lt;&#59;&#x3b;&bogus"), "<;;&bogus");
    }
}
