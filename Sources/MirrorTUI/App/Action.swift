import Foundation
import MirrorCore

/// Something an operator asks the dashboard to do. Every action becomes a job row or a catalog update,
/// made by `ActionDispatcher` with the operator's actor recorded.
public enum Action: Equatable, Sendable {
    case sync([String])
    case verify([String])
    /// Git maintenance (repack with a bitmap, commit-graph) as `maintain` jobs.
    case maintain([String])
    case pause([String])
    case resume([String])
    case cancel([String])
    case add(Mirror)
    /// New settings for an existing mirror (the whole mirror, unchanged fields as they were).
    case edit(Mirror)
    case remove(String, deleteData: Bool)

    public var kind: ActionKind {
        switch self {
        case .sync: return .sync
        case .verify: return .verify
        case .maintain: return .maintain
        case .pause: return .pause
        case .resume: return .resume
        case .cancel: return .cancel
        case .add: return .add
        case .edit: return .edit
        case .remove: return .remove
        }
    }
}

/// The kinds of action a permission policy rules on.
public enum ActionKind: String, CaseIterable, Sendable {
    case sync, verify, maintain, pause, resume, cancel, add, edit, remove

    /// The permission a role needs for it: every action kind is a permission of the same name.
    public var permission: Permission {
        guard let p = Permission(rawValue: rawValue) else { preconditionFailure("no permission named \(rawValue)") }
        return p
    }

    /// What the key does, for messages.
    public var verb: String {
        switch self {
        case .sync: return "sync"
        case .verify: return "verify"
        case .maintain: return "maintain"
        case .pause: return "pause"
        case .resume: return "resume"
        case .cancel: return "cancel jobs"
        case .add: return "add mirrors"
        case .edit: return "edit mirrors"
        case .remove: return "delete mirrors"
        }
    }
}

/// A policy's ruling on an action.
public enum PolicyDecision: Equatable, Sendable {
    case allow
    case deny(String)
}

/// Decides who may do what. The dashboard asks before offering an action and the dispatcher asks again
/// before doing it; roles (viewer, operator, admin) plug in here.
public protocol ActionPolicy: Sendable {
    func decide(_ kind: ActionKind, actor: Actor) -> PolicyDecision
}

/// Everything allowed (a local operator).
public struct FullAccess: ActionPolicy {
    public init() {}
    public func decide(_ kind: ActionKind, actor: Actor) -> PolicyDecision { .allow }
}

/// Nothing allowed (`--read-only`), with the reason shown to the operator.
public struct ReadOnlyPolicy: ActionPolicy {
    public var reason: String
    public init(reason: String = "read-only: started with --read-only") { self.reason = reason }
    public func decide(_ kind: ActionKind, actor: Actor) -> PolicyDecision { .deny("\(reason) (\(kind.verb) is disabled)") }
}

/// What a role may do (an SSH session's dashboard): viewers watch; operators also sync, verify, pause,
/// resume and cancel; admins also add and delete mirrors. The same rule as the SSH commands, with the
/// same wording when refused.
public struct RolePolicy: ActionPolicy {
    public let role: Role
    public init(role: Role) { self.role = role }

    public func decide(_ kind: ActionKind, actor: Actor) -> PolicyDecision {
        let permission = kind.permission
        guard role.allows(permission) else {
            return .deny("permission denied: \(kind.verb) needs the \(permission.requiredRole.rawValue) role (you are \(role.rawValue))")
        }
        return .allow
    }
}

/// The result of an action, for the message line.
public struct ActionOutcome: Equatable, Sendable {
    public var text: String
    public var isError: Bool

    public init(_ text: String, isError: Bool = false) {
        self.text = text
        self.isError = isError
    }
}

/// The one place dashboard actions happen: checks the policy, then writes job rows or catalog updates
/// with the actor. Never blocks on work: jobs run in the engine.
public final class ActionDispatcher: @unchecked Sendable {
    public let home: Home
    public let catalog: Catalog
    public let actor: Actor
    public let policy: ActionPolicy
    /// What queued jobs say started them: `manual` at the machine, `ssh` in an SSH session.
    public let trigger: Trigger
    /// Called after jobs are queued (wakes an embedded engine, or starts a detached one).
    public var onEnqueue: @Sendable () -> Void = {}

    public init(home: Home, catalog: Catalog, actor: Actor, policy: ActionPolicy, trigger: Trigger = .manual) {
        self.home = home
        self.catalog = catalog
        self.actor = actor
        self.policy = policy
        self.trigger = trigger
    }

    /// Performs `action`; errors come back as an outcome, phrased for the operator.
    public func perform(_ action: Action) -> ActionOutcome {
        if case let .deny(reason) = policy.decide(action.kind, actor: actor) {
            return ActionOutcome(reason, isError: true)
        }
        do {
            return try run(action)
        } catch {
            return ActionOutcome("\(error)", isError: true)
        }
    }

    private func run(_ action: Action) throws -> ActionOutcome {
        switch action {
        case let .sync(names), let .verify(names), let .maintain(names):
            let kind: JobKind = action.kind == .sync ? .sync : action.kind == .verify ? .verify : .maintain
            guard !names.isEmpty else { return ActionOutcome("nothing to \(kind.rawValue)") }
            let mirrors = try names.map { try catalog.mirror(named: $0) }
            let jobs = try catalog.enqueue(mirrors, kind: kind, trigger: trigger, actor: actor)
            onEnqueue()
            if jobs.count == 1, let job = jobs.first {
                return ActionOutcome("queued \(kind.rawValue) of \(names[0]) (job #\(job.id ?? 0))")
            }
            return ActionOutcome("queued \(kind.rawValue) of \(jobs.count) mirrors")
        case let .pause(names):
            for name in names { try catalog.pause(name: name, reason: nil, actor: actor) }
            return ActionOutcome(names.count == 1 ? "paused \(names[0])" : "paused \(names.count) mirrors")
        case let .resume(names):
            for name in names { try catalog.resume(name: name, actor: actor) }
            onEnqueue()
            return ActionOutcome(names.count == 1 ? "resumed \(names[0]); a sync is due now" : "resumed \(names.count) mirrors")
        case let .cancel(names):
            let wanted = Set(names)
            let jobs = try catalog.activeJobs(limit: 10_000).filter { wanted.contains($0.mirror) }
            guard !jobs.isEmpty else {
                return ActionOutcome(names.count == 1 ? "\(names[0]) has no queued or running job" : "no queued or running jobs to cancel", isError: true)
            }
            var stopping = 0
            for job in jobs where try catalog.requestCancel(jobId: job.job.id!, actor: actor) == .running { stopping += 1 }
            onEnqueue()
            let cancelled = jobs.count - stopping
            var parts: [String] = []
            if cancelled > 0 { parts.append("cancelled \(cancelled) queued job\(cancelled == 1 ? "" : "s")") }
            if stopping > 0 { parts.append("\(stopping) running job\(stopping == 1 ? " is" : "s are") stopping") }
            return ActionOutcome(parts.joined(separator: ", "))
        case let .add(mirror):
            let added = try catalog.addMirror(mirror, actor: actor)
            onEnqueue()
            return ActionOutcome("added \(added.name) ← \(UpstreamURL.display(added.upstream)); first sync is due now")
        case let .edit(mirror):
            guard try catalog.updateMirror(mirror, actor: actor) else { return ActionOutcome("\(mirror.name) unchanged") }
            onEnqueue()
            return ActionOutcome("saved \(mirror.name): \(UpstreamURL.display(mirror.upstream)), every \(Interval.format(mirror.intervalSeconds)), lfs \(mirror.lfs.rawValue)")
        case let .remove(name, deleteData):
            try MirrorName.validate(name)
            guard let lock = try FileLock.tryAcquire(path: home.lockPath(name)) else {
                return ActionOutcome("\(name) is busy (a sync holds it): cancel its job with c, then delete", isError: true)
            }
            defer { withExtendedLifetime(lock) {} }
            try catalog.removeMirror(named: name, actor: actor, keptData: !deleteData)
            if deleteData { try home.deleteMirrorData(name) }
            return ActionOutcome(deleteData ? "deleted \(name) and its data" : "deleted \(name); its data stays in \(home.mirrorPath(name))")
        }
    }
}
