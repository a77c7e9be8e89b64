// Helper processes for WizardCore's crash and lock tests.
//
//   djdeploy-testhelper save-loop STATEPATH        saves the state in a tight loop, forever
//   djdeploy-testhelper hold-lock STATEPATH SECS   holds the state lock for SECS seconds
//
// save-loop: takes the lock, loads the state (or starts one for the demo deployment), then
// increments the input `counter` and saves, again and again. The input `pad` alternates between a
// short and a long value (its length is tied to the counter's parity) so that a torn write would
// show. Prints "ready PID" once the lock is held.
import Foundation
import WizardCore

func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

func fail(_ message: String, code: Int32 = 2) -> Never {
    FileHandle.standardError.write(Data("djdeploy-testhelper: \(message)\n".utf8))
    exit(code)
}

let args = CommandLine.arguments
guard args.count >= 3 else { fail("usage: djdeploy-testhelper save-loop STATEPATH | hold-lock STATEPATH SECONDS") }
let store = StateStore(path: args[2])

/// The pad length for a counter value (checked by the crash test).
func padLength(_ counter: Int) -> Int { counter % 2 == 0 ? 16 : 6000 }

switch args[1] {
case "save-loop":
    let lock: StateLock
    do { lock = try store.acquireLock() } catch { fail("\(error)", code: 3) }
    var state: WizardState
    do {
        state = try store.load() ?? WizardState(deployment: DemoDeployment.make(), profile: "crash-test")
    } catch { fail("\(error)") }
    say("ready \(getpid())")
    var counter = Int(state.inputs["counter"] ?? "0") ?? 0
    while true {
        counter += 1
        state.inputs["counter"] = String(counter)
        state.inputs["pad"] = String(repeating: counter % 2 == 0 ? "e" : "o", count: padLength(counter))
        state.updatedAt = .now()
        do { try store.save(state) } catch { fail("\(error)") }
    }
    _ = lock

case "hold-lock":
    guard args.count >= 4, let secs = Double(args[3]) else { fail("usage: hold-lock STATEPATH SECONDS") }
    let lock: StateLock
    do { lock = try store.acquireLock() } catch { fail("\(error)", code: 3) }
    say("locked \(getpid())")
    Thread.sleep(forTimeInterval: secs)
    lock.release()

default:
    fail("unknown command \(args[1])")
}
