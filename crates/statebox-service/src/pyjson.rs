//! JSON text exactly as Python's `json.dumps` writes it (`", "` and `": "`
//! separators, non-ASCII as `\uXXXX`), so the compatibility tools return
//! the same text the original server did.

use serde_json::Value;
use std::io::{self, Write};

struct PythonStyle;

impl serde_json::ser::Formatter for PythonStyle {
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        for c in fragment.chars() {
            if c.is_ascii() && c != '\x7f' {
                w.write_all(&[c as u8])?;
            } else {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(w, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }
}

/// `json.dumps(value)`.
pub fn dumps(value: &Value) -> String {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, PythonStyle);
    serde::Serialize::serialize(value, &mut serializer).expect("JSON values serialize");
    String::from_utf8(out).expect("the formatter writes ASCII")
}

#[cfg(test)]
mod tests {
    use super::dumps;
    use serde_json::json;

    #[test]
    fn matches_python_json_dumps() {
        let value =
            json!({"a": [1, 2.5, null, true], "b": {"c": "é\u{1F600}\n\"\\\u{7f}"}, "d": []});
        // python3 -c 'import json; print(json.dumps({"a": [1, 2.5, None, True], "b": {"c": "é\U0001F600\n\"\\\x7f"}, "d": []}))'
        assert_eq!(
            dumps(&value),
            r#"{"a": [1, 2.5, null, true], "b": {"c": "\u00e9\ud83d\ude00\n\"\\\u007f"}, "d": []}"#
        );
    }
}
