import Foundation
@testable import MeteoSources
import Testing

@Suite("HTTP plumbing")
struct HTTPPlumbingTests {
    @Test func redactsSecretQueryParameters() {
        #expect(HTTPTransport.redact("https://api.openweathermap.org/data/2.5/weather?lat=1&lon=2&units=metric&appid=abc123")
                == "https://api.openweathermap.org/data/2.5/weather?lat=1&lon=2&units=metric&appid=<redacted>")
        #expect(HTTPTransport.redact("GET /x?APPID=abc&lat=1 failed") == "GET /x?APPID=<redacted>&lat=1 failed")
        #expect(HTTPTransport.redact("https://api.open-meteo.com/v1/forecast?latitude=1,2") == "https://api.open-meteo.com/v1/forecast?latitude=1,2")
    }

    @Test func semaphoreBoundsConcurrency() async {
        let semaphore = AsyncSemaphore(permits: 2)
        let gauge = Gauge()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<10 {
                group.addTask {
                    await semaphore.withPermit {
                        await gauge.enter()
                        try? await Task.sleep(for: .milliseconds(5))
                        await gauge.leave()
                    }
                }
            }
        }
        #expect(await gauge.peak == 2)
    }

    actor Gauge {
        var current = 0, peak = 0
        func enter() { current += 1; peak = max(peak, current) }
        func leave() { current -= 1 }
    }
}
