//! The Markdown to the model: each kind, what is kept of links, raw HTML
//! and images, and the caps.

use super::check::{pango_text, rtf_text};
use super::*;

use Block::{Code, Heading, List, Paragraph, Quote, Rule};
use Inline::{Bold, Italic, LineBreak, Link, Strike};

#[test]
fn parse_builds_each_block_and_span() {
    let blocks = parse(
        "# Fire *drill*\n\n###### small\n\n**Leave** *now*, ~~walk~~ `lift`\\\n[plan](https://x.example/p)\n\n\
         ---\n\n```\nstep 1\nstep 2\n```\n\n> quoted\n\n3. three\n4. four\n\n- dot",
    );
    assert_eq!(
        blocks,
        vec![
            Heading {
                level: 1,
                content: vec![text("Fire "), Italic(vec![text("drill")])],
            },
            Heading {
                level: 6,
                content: vec![text("small")],
            },
            Paragraph(vec![
                Bold(vec![text("Leave")]),
                text(" "),
                Italic(vec![text("now")]),
                text(", "),
                Strike(vec![text("walk")]),
                text(" "),
                Inline::Code("lift".into()),
                LineBreak,
                link("https://x.example/p", "plan"),
            ]),
            Rule,
            Code("step 1\nstep 2".into()),
            Quote(vec![para("quoted")]),
            List {
                start: Some(3),
                items: vec![vec![para("three")], vec![para("four")]],
            },
            List {
                start: None,
                items: vec![vec![para("dot")]],
            },
        ]
    );
}

#[test]
fn tables_become_rows_of_cells() {
    let blocks = parse("| Site | State |\n|---|---|\n| Lyon | *open* |\n| Nancy | |");
    assert_eq!(
        blocks,
        vec![
            Paragraph(vec![
                Bold(vec![text("Site")]),
                text(" | "),
                Bold(vec![text("State")]),
            ]),
            Paragraph(vec![text("Lyon | "), Italic(vec![text("open")])]),
            para("Nancy | "),
        ]
    );
}

#[test]
fn links_to_other_places_lose_their_link_not_their_text() {
    for dest in [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "java%0ascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "vbscript:msgbox(1)",
        "file:///C:/Windows/win.ini",
        "/relative/path",
        "relative.html",
        "//evil.example/x",
        "#top",
        "http://",
        "https://[::1",
        "ftp://files.example/a",
        "",
    ] {
        let blocks = parse(&format!("see [the plan]({dest}) now"));
        assert_eq!(blocks, vec![para("see the plan now")], "{dest:?}");
        assert_eq!(markups(&blocks), ["see the plan now"], "{dest:?}");
        assert!(to_rich_text(&blocks).links.is_empty(), "{dest:?}");
    }
    // A link built by hand is held to the same rule by both emitters.
    let blocks = vec![Paragraph(vec![link("javascript:alert(1)", "x")])];
    assert_eq!(markups(&blocks), ["x"]);
    assert_eq!(rtf_body(&blocks), "\\pard\\sa120 x\\par\n");
}

#[test]
fn kept_links_are_normalized_and_cannot_break_out() {
    let cases = [
        (
            "[a](HTTPS://X.Example/a%20b?q=1#f)",
            "https://x.example/a%20b?q=1#f",
        ),
        ("<https://x.example/a\"b>", "https://x.example/a%22b"),
        (
            "[a](<mailto:ops@x.example?subject=a \"b\\c{}>)",
            "mailto:ops@x.example?subject=a%20%22b%5Cc%7B%7D",
        ),
        ("<ops@x.example>", "mailto:ops@x.example"),
        (
            "<https://bücher.example/ü>",
            "https://xn--bcher-kva.example/%C3%BC",
        ),
    ];
    for (markdown, target) in cases {
        let blocks = parse(markdown);
        let Some(Paragraph(content)) = blocks.first() else {
            panic!("{markdown}: {blocks:?}")
        };
        let Some(Link { target: t, .. }) = content.first() else {
            panic!("{markdown}: {blocks:?}")
        };
        assert_eq!(t, target, "{markdown}");
        assert_eq!(link_target(t).as_deref(), Some(target), "idempotent");
        assert!(markups(&blocks)[0].starts_with(&format!("<a href=\"{target}\">")));
        assert_eq!(to_rich_text(&blocks).links[0].target, target);
    }
    // An empty link text would be a link nobody can see.
    assert_eq!(
        parse("[](https://x.example)"),
        vec![Paragraph(vec![link(
            "https://x.example/",
            "https://x.example/"
        )])]
    );
}

#[test]
fn raw_html_is_shown_as_text() {
    let blocks = parse("<script>\nalert(1)\n</script>\n\nand <b onclick=\"x()\">bold</b>");
    assert_eq!(
        blocks,
        vec![
            Paragraph(vec![
                text("<script>"),
                LineBreak,
                text("alert(1)"),
                LineBreak,
                text("</script>"),
            ]),
            para("and <b onclick=\"x()\">bold</b>"),
        ]
    );
    assert_eq!(
        markups(&blocks),
        [
            "&lt;script&gt;\nalert(1)\n&lt;/script&gt;",
            "and &lt;b onclick=&quot;x()&quot;&gt;bold&lt;/b&gt;",
        ]
    );
    assert_eq!(
        rtf_body(&blocks),
        "\\pard\\sa120 <script>\\line alert(1)\\line </script>\\par\n\
         \\pard\\sa120 and <b onclick=\"x()\">bold</b>\\par\n"
    );
}

#[test]
fn images_become_their_alt_text() {
    let blocks = parse(
        "![the *exit* map](https://tracker.example/p.gif) and [![logo](x.png)](https://x.example)",
    );
    assert_eq!(
        blocks,
        vec![Paragraph(vec![
            text("the "),
            Italic(vec![text("exit")]),
            text(" map and "),
            link("https://x.example/", "logo"),
        ])]
    );
}

/// The depth of a tree: its lists, quotes and spans.
fn depth(blocks: &[Block]) -> usize {
    fn spans(content: &[Inline]) -> usize {
        content
            .iter()
            .map(|i| match i {
                Bold(c) | Italic(c) | Strike(c) | Link { content: c, .. } => 1 + spans(c),
                _ => 0,
            })
            .max()
            .unwrap_or(0)
    }
    blocks
        .iter()
        .map(|b| match b {
            Quote(inner) => 1 + depth(inner),
            List { items, .. } => 1 + items.iter().map(|i| depth(i)).max().unwrap_or(0),
            Heading { content, .. } | Paragraph(content) => spans(content),
            _ => 0,
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn deep_nesting_is_flattened_not_followed() {
    let n = 10_000;
    for markdown in [
        format!("{}deep", "> ".repeat(n)),
        format!("{}deep", "- ".repeat(n)),
        format!("{}deep", "1. ".repeat(n)),
        format!("{}deep", "> - ".repeat(n)),
        format!("{}deep{}", "*".repeat(n), "*".repeat(n)),
    ] {
        let blocks = parse(&markdown);
        // Exactly the cap: nesting was followed that far, and no further.
        assert_eq!(depth(&blocks), MAX_DEPTH, "{}", &markdown[..20]);
        let pango = to_pango(&blocks);
        let text: String = pango
            .iter()
            .map(|b| pango_text(&b.markup).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        assert!(text.contains("deep"), "{}", &markdown[..20]);
        assert!(rtf_text(&to_rtf(&blocks)).is_ok_and(|t| t.contains("deep")));
    }
    // Flattened items stay apart.
    let markdown = format!("{}- a\n{}- b", "> ".repeat(40), "> ".repeat(40));
    let text: Vec<String> = to_pango(&parse(&markdown))
        .into_iter()
        .map(|b| b.markup)
        .collect();
    assert_eq!(text, ["a", "b"]);
}

#[test]
fn a_body_of_too_many_blocks_is_cut_and_says_so() {
    let blocks = parse(&"- a\n".repeat(3 * MAX_BLOCKS));
    let pango = to_pango(&blocks);
    assert!(pango.len() <= MAX_BLOCKS + 1, "{}", pango.len());
    assert_eq!(pango.last().map(|b| b.markup.as_str()), Some(TRUNCATED));
    let blocks = parse(&"a\n\n".repeat(MAX_BLOCKS));
    assert_eq!(to_pango(&blocks).len(), MAX_BLOCKS + 1);
    let blocks = parse(&"a\n\n".repeat(MAX_BLOCKS - 1));
    assert_eq!(to_pango(&blocks).len(), MAX_BLOCKS - 1);
}
