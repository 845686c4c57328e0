/// Removes credentials from any text before it is shown, logged or stored.
public enum Redactor {
    /// Replaces `user:pass@` and `token@` in http(s) URLs with `***@`, and auth headers' values with `***`.
    public static func redact(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let range = rest.range(of: "://") {
            let scheme = rest[..<range.lowerBound]
            out += rest[..<range.upperBound]
            rest = rest[range.upperBound...]
            let end = rest.firstIndex(where: { $0 == "/" || $0 == " " || $0 == "'" || $0 == "\"" || $0 == "\n" }) ?? rest.endIndex
            let authority = rest[..<end]
            let lowered = scheme.lowercased()
            let isHTTP = lowered.hasSuffix("http") || lowered.hasSuffix("https")
            if let at = authority.lastIndex(of: "@"), isHTTP || authority[..<at].contains(":") {
                out += "***@"
                rest = rest[rest.index(after: at)...]
            }
        }
        out += rest
        return redactHeaders(out)
    }

    private static func redactHeaders(_ text: String) -> String {
        guard text.range(of: "authorization", options: .caseInsensitive) != nil
            || text.range(of: "token", options: .caseInsensitive) != nil else { return text }
        var lines: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var l = String(line)
            for key in ["Authorization:", "Proxy-Authorization:", "X-Auth-Token:", "Private-Token:"] {
                if let r = l.range(of: key, options: .caseInsensitive) {
                    l = String(l[..<r.upperBound]) + " ***"
                }
            }
            lines.append(l)
        }
        return lines.joined(separator: "\n")
    }

    /// Quotes text for an error message, escaping control characters so one error stays one line.
    public static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars.prefix(120) {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    out += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        if text.unicodeScalars.count > 120 { out += "…" }
        return out + "\""
    }
}

import Foundation
