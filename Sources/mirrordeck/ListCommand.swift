import ArgumentParser
import Foundation
import MirrorCore

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List mirrors with their status and lag.")

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print JSON (see docs/json.md).") var json = false

    func run() throws {
        let (_, catalog) = try global.open()
        let summaries = try catalog.summariesFast()
        let now = Date()
        let limits = try catalog.hostLimits(now: now)
        if json {
            print(JSONShapes.encode(summaries.map { JSONShapes.mirror($0, now: now, limits: limits) }))
            return
        }
        if summaries.isEmpty {
            print("no mirrors yet: add one with 'mirrordeck add NAME URL'")
            return
        }
        var rows = [["NAME", "STATUS", "LAG", "BEHIND", "NEXT", "FAILS", "UPSTREAM"]]
        for s in summaries {
            let stale = s.state.isStale(intervalSeconds: s.mirror.intervalSeconds, now: now)
            // A rate-limited host is the mirror's state until the reset, whatever its last result was.
            let limited = MirrorHosts.limit(for: s.mirror, in: limits).map { "rate-limited until \(TimeFormat.clock($0.until))" }
            rows.append([
                s.mirror.name,
                limited ?? (s.state.status.rawValue + (stale && s.state.status != .paused ? " (stale)" : "")),
                TimeFormat.lag(s.state.lag(now: now)),
                String(s.state.behind),
                TimeFormat.until(s.state.nextRunAt, now: now),
                String(s.state.consecutiveFailures),
                UpstreamURL.display(s.mirror.upstream),
            ])
        }
        print(Table.render(rows))
        for limit in limits { print("\(limit.description): its mirrors wait for the reset") }
    }
}

/// Left-aligned text columns separated by two spaces.
enum Table {
    static func render(_ rows: [[String]]) -> String {
        guard let width = rows.first?.count else { return "" }
        var widths = Array(repeating: 0, count: width)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
