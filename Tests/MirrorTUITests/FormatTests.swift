import Foundation
import Testing
@testable import MirrorTUI

@Suite("formatting: lags, times, sizes, rates and ETAs as the dashboard shows them")
struct FormatTests {
    @Test("lag reads <1m, 4m, 2h, 3d, and never before the first success")
    func lag() {
        #expect(Format.lag(nil) == "never")
        #expect(Format.lag(12) == "<1m")
        #expect(Format.lag(4 * 60 + 59) == "4m")
        #expect(Format.lag(2 * 3600 + 10) == "2h")
        #expect(Format.lag(3 * 86400 + 5) == "3d")
    }

    @Test("next run reads in 4m, in <1m, due, or a dash when nothing is scheduled")
    func until() {
        let now = Fixture.now
        #expect(Format.until(now.addingTimeInterval(250), now: now) == "in 4m")
        #expect(Format.until(now.addingTimeInterval(20), now: now) == "in <1m")
        #expect(Format.until(now.addingTimeInterval(-5), now: now) == "due")
        #expect(Format.until(nil, now: now) == "—")
    }

    @Test("sizes use the same binary units as the CLI")
    func sizes() {
        #expect(Format.size(512) == "512 B")
        #expect(Format.size(1536) == "1.5 KiB")
        #expect(Format.size(12_900_000) == "12.3 MiB")
        #expect(Format.size(5 << 30) == "5.0 GiB")
    }

    @Test("ETA reads 12s, 4m05s, 1h05m, 2d, or a dash when the rate is unknown")
    func eta() {
        #expect(Format.eta(nil) == "—")
        #expect(Format.eta(11.2) == "12s")
        #expect(Format.eta(245) == "4m05s")
        #expect(Format.eta(3900) == "1h05m")
        #expect(Format.eta(2 * 86400 + 1) == "2d")
        #expect(Format.eta(.infinity) == "—")
    }

    @Test("percentages stop at 99% until the work is really done")
    func percent() {
        #expect(Format.percent(0) == "0%")
        #expect(Format.percent(0.456) == "45%")
        #expect(Format.percent(0.999) == "99%")
        #expect(Format.percent(1) == "100%")
    }

    @Test("counts get thousands separators; rates show a dash at zero")
    func counts() {
        #expect(Format.count(10_000) == "10,000")
        #expect(Format.count(999) == "999")
        #expect(Format.rate(0) == "—")
        #expect(Format.rate(3 * 1024 * 1024) == "3.0 MiB/s")
    }

    @Test("text is truncated with an ellipsis, padded, and wrapped by display width (wide characters count two)")
    func widths() {
        #expect(DisplayWidth.of("日本") == 4)
        #expect(DisplayWidth.truncate("mirrordeck", to: 6) == "mirro…")
        #expect(DisplayWidth.fit("ab", 4, right: true) == "  ab")
        #expect(DisplayWidth.wrap("one two three four", width: 9) == ["one two", "three", "four"])
        #expect(DisplayWidth.sanitize("a\tb\u{1b}[31m", ascii: false) == "a b?[31m")
        #expect(DisplayWidth.sanitize("naïve", ascii: true) == "na?ve")
    }

    @Test("progress bars fill by eighths in UTF-8 and by whole cells in ASCII")
    func bars() {
        let (done, todo) = Glyphs.unicode.bar(0.5, width: 4)
        #expect(done == "██" && todo == "░░")
        let (d2, t2) = Glyphs.unicode.bar(0.3, width: 4)
        #expect(d2 == "█▏" && t2 == "░░")
        let (d3, t3) = Glyphs.plain.bar(0.75, width: 4)
        #expect(d3 == "###" && t3 == ".")
    }
}
