import ArgumentParser
import Foundation
import MirrorCore

struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "events", abstract: "The audit log: who did what, when, from where.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Only events newer than this, e.g. 1h, 7d.") var since: String?
    @Option(help: "Only events of this mirror.") var mirror: String?
    @Option(help: "At most this many events.") var limit = 100
    @Flag(help: "Keep printing new events as they happen.") var follow = false
    @Flag(help: "Print JSON lines (one object per event).") var json = false

    func run() throws {
        if let mirror { try MirrorName.validate(mirror) }
        let sinceDate = try since.map { Date().addingTimeInterval(-Double(try Interval.parse($0, minimum: 1))) }
        let (_, catalog) = try global.open()
        var events = try catalog.events(mirror: mirror, limit: limit).reversed() as [Event]
        if let sinceDate { events = events.filter { $0.at >= sinceDate } }
        var last = events.last?.id ?? 0
        if last == 0, follow { last = try catalog.events(limit: 1).first?.id ?? 0 }
        events.forEach(emit)
        guard follow else { return }
        while true {
            usleep(200_000)
            let fresh = try catalog.events(after: last, mirror: mirror)
            fresh.forEach(emit)
            if let id = fresh.last?.id { last = id }
        }
    }

    private func emit(_ e: Event) {
        if json {
            print(JSONShapes.encode(JSONShapes.event(e)).replacingOccurrences(of: "\n", with: "").replacingOccurrences(of: "  ", with: ""))
        } else {
            let who = e.source == "local" ? e.actor : "\(e.actor) from \(e.source)"
            print("\(TimeFormat.iso(e.at) ?? "")  \(pad(who, 14))  \(pad(e.action, 8))  \(e.mirror ?? "-")  \(e.message)")
        }
        fflush(nil)
    }
}

/// Pads to `width` without ever cutting the text.
func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log", abstract: "A mirror's runs and events, newest first.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Name of the mirror.") var name: String
    @Option(help: "At most this many runs and events.") var limit = 20
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try MirrorName.validate(name)
        let (_, catalog) = try global.open()
        let mirror = try catalog.mirror(named: name)
        let runs = try catalog.runs(mirrorId: mirror.id!, limit: limit)
        let events = try catalog.events(mirror: name, limit: limit)
        if json {
            print(JSONShapes.encode(["runs": runs.map(JSONShapes.run), "events": events.map(JSONShapes.event)]))
            return
        }
        print("runs:")
        var rows = [["STARTED", "RESULT", "DURATION", "OBJECTS", "BYTES", "REFS +/-", "TRIGGER", "BY", "ERROR"]]
        for r in runs {
            rows.append([TimeFormat.iso(r.startedAt) ?? "", r.result.rawValue, r.durationMs.map { TimeFormat.duration(ms: $0) } ?? "—",
                         String(r.objectsReceived), ByteFormat.format(r.bytesReceived), "\(r.refsUpdated)/\(r.refsDeleted)",
                         r.trigger.rawValue, r.actor, r.error ?? ""])
        }
        print(Table.render(rows))
        print("\nevents:")
        for e in events {
            let who = e.source == "local" ? e.actor : "\(e.actor) from \(e.source)"
            print("\(TimeFormat.iso(e.at) ?? "")  \(who)  \(e.action)  \(e.message)")
        }
    }
}
