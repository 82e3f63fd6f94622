import Testing

@testable import EngramCore

/// Hidden characters in text shown to an assistant are made visible; ordinary text is left alone.
@Suite struct VisibleTextTests {
    @Test func hiddenCharactersAreShown() {
        #expect(VisibleText.visible("plain text\twith tab\nand newline, café, 日本") == "plain text\twith tab\nand newline, café, 日本")
        #expect(VisibleText.visible("a\u{200B}b") == "a<U+200B>b")
        #expect(VisibleText.visible("rm\u{202E}fdp.exe") == "rm<U+202E>fdp.exe")
        #expect(VisibleText.visible("x\u{E0041}\u{E0042}") == "x<U+E0041><U+E0042>")
        #expect(VisibleText.visible("line\u{2028}break\u{2029}") == "line<U+2028>break<U+2029>")
        #expect(VisibleText.visible("bell\u{07}\r") == "bell<U+0007><U+000D>")
    }
}
