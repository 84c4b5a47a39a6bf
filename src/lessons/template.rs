//! A message's shape: a format string whose `{}` holes stand for the parts that vary
//! (a path, a status), read from a finished message and filled into another. This is how
//! a message the code wrote in English finds its Chinese form in [`super::zh`].

/// `text` read through `template`, a format string whose `{}` stand for any text (and
/// `{{`, `}}` for braces): the parts they stand for, in order, or `None` when `text` does
/// not have the template's shape. Each `{}` takes the shortest text that lets the next
/// literal part follow.
pub fn holes(template: &str, text: &str) -> Option<Vec<String>> {
    let parts: Vec<String> = literal_parts(template);
    if parts.len() == 1 {
        return (template == text).then(Vec::new);
    }
    let (first, last) = (&parts[0], &parts[parts.len() - 1]);
    if text.len() < first.len() + last.len()
        || !text.starts_with(first.as_str())
        || !text.ends_with(last.as_str())
    {
        return None;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    let mut found = Vec::new();
    for part in &parts[1..parts.len() - 1] {
        let i = rest.find(part.as_str())?;
        found.push(rest[..i].to_string());
        rest = &rest[i + part.len()..];
    }
    found.push(rest.to_string());
    Some(found)
}

/// `template` with its `{}` replaced by `values`, in order.
pub fn fill(template: &str, values: &[String]) -> String {
    let mut out = String::new();
    let mut values = values.iter();
    let mut parts = literal_parts(template).into_iter().peekable();
    while let Some(part) = parts.next() {
        out.push_str(&part);
        if parts.peek().is_some() {
            out.push_str(values.next().map_or("", String::as_str));
        }
    }
    out
}

/// The literal text between a format string's `{}`, with `{{` and `}}` as braces.
fn literal_parts(template: &str) -> Vec<String> {
    template
        .split("{}")
        .map(|p| p.replace("{{", "{").replace("}}", "}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_gives_back_its_holes() {
        let t = "{} answered {}, not {}";
        let got = holes(t, "GET /x answered 404 Not Found, not 200").unwrap();
        assert_eq!(got, ["GET /x", "404 Not Found", "200"]);
        assert_eq!(holes(t, "nothing like it"), None);
        assert_eq!(holes("{} exists", "x exists").unwrap(), ["x"]);
        assert_eq!(holes("{} exists", "exists"), None);
        assert_eq!(holes("plain", "plain").unwrap(), Vec::<String>::new());
        let braces = "add env = {{ {} = \"...\" }}";
        assert_eq!(holes(braces, "add env = { K = \"...\" }").unwrap(), ["K"]);
        assert_eq!(
            fill("{} 回答了 {}", &["a".into(), "b".into()]),
            "a 回答了 b"
        );
    }
}
