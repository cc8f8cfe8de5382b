//! The model to Pango markup and RTF, exactly, with the layout the native
//! popups need and text in any script.

use super::check::rtf_text;
use super::*;

use Block::{List, Paragraph, Quote};

#[test]
fn lists_nest_in_lists_in_quotes() {
    let blocks = parse("> - a\n>   - b\n>     1. c\n>\n>        more c\n> - d");
    let c = vec![para("c"), para("more c")];
    let inner = List {
        start: Some(1),
        items: vec![c],
    };
    let middle = List {
        start: None,
        items: vec![vec![para("b"), inner]],
    };
    let outer = List {
        start: None,
        items: vec![vec![para("a"), middle], vec![para("d")]],
    };
    assert_eq!(blocks, vec![Quote(vec![outer])]);

    let layout: Vec<_> = to_pango(&blocks)
        .into_iter()
        .map(|b| (b.list_depth, b.quote_depth, b.marker, b.markup))
        .collect();
    let row = |l, m: Option<&str>, s: &str| (l, 1, m.map(str::to_owned), s.to_owned());
    assert_eq!(
        layout,
        vec![
            row(1, Some("\u{2022}"), "a"),
            row(2, Some("\u{25e6}"), "b"),
            row(3, Some("1."), "c"),
            row(3, None, "more c"),
            row(1, Some("\u{2022}"), "d"),
        ]
    );
    assert_eq!(
        rtf_body(&blocks),
        "\\pard\\sa120\\li720\\fi-360\\tx720 \\u8226?\\tab {\\cf2 a}\\par\n\
         \\pard\\sa120\\li1080\\fi-360\\tx1080 \\u9702?\\tab {\\cf2 b}\\par\n\
         \\pard\\sa120\\li1440\\fi-360\\tx1440 1.\\tab {\\cf2 c}\\par\n\
         \\pard\\sa120\\li1440 {\\cf2 more c}\\par\n\
         \\pard\\sa120\\li720\\fi-360\\tx720 \\u8226?\\tab {\\cf2 d}\\par\n"
    );
}

#[test]
fn an_item_opening_with_a_list_or_nothing_keeps_its_marker() {
    let blocks = parse("1. - a\n2.\n3. c");
    let layout: Vec<_> = to_pango(&blocks)
        .into_iter()
        .map(|b| (b.list_depth, b.marker, b.markup))
        .collect();
    let row = |l, m: &str, s: &str| (l, Some(m.to_owned()), s.to_owned());
    assert_eq!(
        layout,
        vec![
            row(1, "1.", ""),
            row(2, "\u{25e6}", "a"),
            row(1, "2.", ""),
            row(1, "3.", "c"),
        ]
    );
}

#[test]
fn pango_writes_each_kind() {
    let blocks = parse(
        "## Fire & *smoke*\n\n**b** *i* ~~s~~ `c<d` [l](https://x.example/?a=1&b='2')\\\nnext\n\n\
         ---\n\n```\nif a < b {\n\tgo();\n}\n```\n\n> q",
    );
    let got = to_pango(&blocks);
    let kinds: Vec<_> = got.iter().map(|b| (b.kind, b.quote_depth)).collect();
    assert_eq!(
        kinds,
        [
            (PangoKind::Heading(2), 0),
            (PangoKind::Paragraph, 0),
            (PangoKind::Rule, 0),
            (PangoKind::Code, 0),
            (PangoKind::Paragraph, 1),
        ]
    );
    assert_eq!(
        markups(&blocks),
        [
            "<span size=\"x-large\" weight=\"bold\">Fire &amp; <i>smoke</i></span>",
            "<b>b</b> <i>i</i> <s>s</s> <tt>c&lt;d</tt> \
             <a href=\"https://x.example/?a=1&amp;b=%272%27\">l</a>\nnext",
            "",
            "<tt>if a &lt; b {\n\tgo();\n}</tt>",
            "q",
        ]
    );
}

#[test]
fn rtf_writes_each_kind() {
    let blocks = parse(
        "# Fire {drill}\n\n**b** *i* ~~s~~ `c\\d` [l](https://x.example/)\\\nnext\n\n\
         ---\n\n```\nif a {\n\tgo();\n}\n```\n\n> q",
    );
    let rule = "\\u9472?".repeat(30);
    assert_eq!(
        rtf_body(&blocks),
        format!(
            "\\pard\\sa120 {{\\b\\fs36 Fire \\{{drill\\}}}}\\par\n\
             \\pard\\sa120 {{\\b b}} {{\\i i}} {{\\strike s}} {{\\f1 c\\\\d}} \
             {{\\ul\\cf1 l}}\\line next\\par\n\
             \\pard\\sa120 {{\\f1 {rule}}}\\par\n\
             \\pard\\sa120 {{\\f1\\fs18 if a \\{{\\line \\tab go();\\line \\}}}}\\par\n\
             \\pard\\sa120\\li360 {{\\cf2 q}}\\par\n"
        )
    );
    // The link is the run "l" of the control's text, after the heading's
    // paragraph end and "b i s c\d ".
    let rich = to_rich_text(&blocks);
    let text = rtf_text(&rich.rtf).unwrap();
    assert_eq!(check::rich_links(&rich, &text), Ok(vec!["l".to_owned()]));
    assert_eq!(
        rich.links,
        [RichLink {
            start: 23,
            end: 24,
            target: "https://x.example/".into()
        }]
    );
}

#[test]
fn link_runs_count_as_richedit_does() {
    // Outside the BMP two units, list markers and their tab, line breaks:
    // the runs are where the control will have them.
    let blocks = parse(
        "- 😀 [one](https://a.example/)\\\n  [two](mailto:x@y.example)\n\n\
         > **é** [three](http://b.example/) [](https://c.example/)",
    );
    let rich = to_rich_text(&blocks);
    let text = rtf_text(&rich.rtf).unwrap();
    assert_eq!(
        check::rich_links(&rich, &text),
        Ok(vec![
            "one".to_owned(),
            "two".to_owned(),
            "three".to_owned(),
            "https://c.example/".to_owned()
        ])
    );
    assert_eq!(rich.links[0].start, 5, "{text:?}");
}

#[test]
fn control_characters_are_dropped_and_text_is_escaped() {
    let blocks = vec![Paragraph(vec![text(
        "a\u{0}\u{7}\u{1b}[31m\r\u{85}\u{7f}b <&>\"' \\{}",
    )])];
    assert_eq!(markups(&blocks), ["a[31mb &lt;&amp;&gt;&quot;&apos; \\{}"]);
    assert_eq!(
        rtf_body(&blocks),
        "\\pard\\sa120 a[31mb <&>\"' \\\\\\{\\}\\par\n"
    );
}

#[test]
fn right_to_left_cjk_and_emoji_survive_both_emitters() {
    let samples = [
        "مرحبا، يرجى الإخلاء الآن",
        "שלום, נא להתפנות עכשיו",
        "請立即疏散 — 避難してください — 대피하십시오",
        "🔥 fire 😀 \u{1F9EF} e\u{301} \u{200f}",
    ];
    for s in samples {
        let blocks = parse(&format!("**{s}**\n\n[{s}](https://x.example/)"));
        assert_eq!(
            markups(&blocks),
            [
                format!("<b>{s}</b>"),
                format!("<a href=\"https://x.example/\">{s}</a>")
            ]
        );
        let rtf = to_rtf(&blocks);
        assert!(rtf.is_ascii(), "{rtf}");
        assert_eq!(rtf_text(&rtf), Ok(format!("{s}\n{s}\n")));
    }
    // Above U+FFFF: a surrogate pair, each half a signed 16-bit \u.
    assert!(to_rtf(&[para("😀")]).contains(" \\u-10179?\\u-8704?\\par"));
    assert!(to_rtf(&[para("é")]).contains(" \\u233?\\par"));
}
