import Foundation
import MeteoCore
import Testing

/// Random and mutated payloads: every one is decoded or refused with a reason, never a crash.
@Suite("Hostile input to the decoders")
struct HostileInputTests {
    /// SplitMix64, so the inputs are the same on every run.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test func randomBytesAreRefusedWithAReason() {
        var rng = Generator(state: 1)
        var refused = 0
        for _ in 0..<2000 {
            let n = Int.random(in: 0...200, using: &rng)
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            do {
                _ = try PayloadFormat.auto.decode(bytes)
            } catch {
                refused += 1
                #expect(!error.message.isEmpty)
            }
        }
        #expect(refused == 2000)
    }

    @Test func mutatedEventsNeverCrash() {
        var rng = Generator(state: 2)
        let valid = EventCodec.encode(EventCodecTests.full)
        var decoded = 0
        var refused = 0
        for _ in 0..<5000 {
            var bytes = valid
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let i = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0...2, using: &rng) {
                case 0: bytes[i] = UInt8.random(in: 0...255, using: &rng)
                case 1: bytes.remove(at: i)
                default: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: i)
                }
                if bytes.isEmpty { break }
            }
            do {
                for result in try PayloadFormat.auto.decode(bytes) {
                    if case .success(let o) = result { try o.validate(); decoded += 1 } else { refused += 1 }
                }
            } catch {
                refused += 1
            }
        }
        #expect(decoded + refused == 5000)
        #expect(refused > 0)
    }

    @Test func hugeAndExtremeNumbersAreRefused() {
        for number in ["1e308", "-1e308", "1e400", "NaN", "Infinity", "-Infinity"] {
            let text = String(decoding: EventCodec.encode(EventCodecTests.full), as: UTF8.self)
                .replacingOccurrences(of: "\"temperature_c\":4.25", with: "\"temperature_c\":\(number)")
            #expect(throws: MeteoError.self, "\(number)") { try EventCodec.decode(Array(text.utf8)) }
        }
    }

    @Test func aTenMegabyteMessageIsHandled() {
        let big = "{\"v\":1,\"name\":\"" + String(repeating: "x", count: 10_000_000) + "\"}"
        #expect(throws: MeteoError.self) { try EventCodec.decode(Array(big.utf8)) }
    }

    @Test func mongoOperatorsStayLiteralStrings() throws {
        var o = EventCodecTests.full
        o.placeID = "{\"$ne\": null}"
        o.name = "{\"$gt\": \"\"}"
        let back = try EventCodec.decode(EventCodec.encode(o))
        #expect(back.placeID == "{\"$ne\": null}")
        #expect(back.name == "{\"$gt\": \"\"}")
    }
}
