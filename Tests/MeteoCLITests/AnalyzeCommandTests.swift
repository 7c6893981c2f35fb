import Foundation
import MeteoCore
import MeteoTestSupport
import Testing

@Suite("meteo analyze, as a process", .meteoBinary)
struct AnalyzeCommandTests {
    @Test func analysisOfTheDemoHasTheDocumentedShape() async throws {
        let dir = MeteoProcess.temporaryDataDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let demo = try await MeteoProcess.run(["demo", "--ticks", "3", "--no-serve", "--data-dir", dir.path])
        #expect(demo.status == 0, "\(demo.stderr)")
        #expect(demo.stdout.contains("Analysis of 4,890 observations of 1,630 places"))
        #expect(demo.stdout.contains("Places with rain or snow now"))

        let run = try await MeteoProcess.run(["analyze", "--format", "json", "--data-dir", dir.path])
        #expect(run.status == 0, "\(run.stderr)")
        let json = try JSONValue.parse(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        for key in ["observations", "correlation", "regions", "rain_places", "snow_places", "windows", "extremes"] {
            #expect(json[key] != nil, "missing \(key)")
        }
        #expect(json["observations"]?["count"] == .number(4890))
        guard case .array(let variables)? = json["correlation"]?["variables"],
              case .array(let matrix)? = json["correlation"]?["matrix"],
              case .array(let n)? = json["correlation"]?["n"] else {
            Issue.record("correlation lacks variables, matrix or n"); return
        }
        #expect(variables.count == 8 && matrix.count == 8 && n.count == 8)
        func number(_ v: JSONValue?) -> Double? { if case .number(let d)? = v { d } else { nil } }
        for i in 0..<8 {
            guard case .array(let row) = matrix[i] else { Issue.record("row \(i) is not an array"); return }
            #expect(number(row[i]) == 1, "unit diagonal at \(i)")
            for j in 0..<8 {
                guard case .array(let other) = matrix[j], let a = number(row[j]), let b = number(other[i]) else {
                    Issue.record("cell \(i),\(j) is not a number"); continue
                }
                #expect(a == b, "symmetric at \(i),\(j)")
                #expect(a >= -1 && a <= 1)
            }
        }
        guard case .array(let regions)? = json["regions"] else { Issue.record("regions"); return }
        #expect(regions.count == 10)
        let placeTotal = regions.compactMap { number($0["places"]) }.reduce(0, +)
        #expect(placeTotal == 1630)

        let csv = try await MeteoProcess.run(["analyze", "--format", "csv", "--region", "EuropeW", "--window", "15m", "--data-dir", dir.path])
        #expect(csv.status == 0, "\(csv.stderr)")
        let lines = csv.stdout.split(separator: "\n")
        #expect(lines.first == "analysis,group,key,variable,statistic,value")
        #expect(lines.contains("region,EuropeW,,,places,416"))
        #expect(lines.allSatisfy { !$0.hasPrefix("region,") || $0.hasPrefix("region,EuropeW,") })

        let table = try await MeteoProcess.run(["analyze", "--data-dir", dir.path])
        #expect(table.status == 0)
        let widest = table.stdout.split(separator: "\n").map(\.count).max() ?? 0
        #expect(widest <= 80, "the table is \(widest) columns wide")
        #expect(table.stdout.contains("°C") && table.stdout.contains("hPa"))
    }

    @Test func badArgumentsAndEmptyStoresGetOneClearLine() async throws {
        let dir = MeteoProcess.temporaryDataDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let window = try await MeteoProcess.run(["analyze", "--window", "soon", "--data-dir", dir.path])
        window.expectRefused("--window", "15m")
        let region = try await MeteoProcess.run(["analyze", "--region", "Atlantis", "--data-dir", dir.path])
        region.expectRefused("unknown region 'Atlantis'")
        let empty = try await MeteoProcess.run(["analyze", "--data-dir", dir.path])
        #expect(empty.status == 1 && empty.reason == .exit, "\(empty.stderr)")
        #expect(empty.stdout.contains("Nothing to analyse") && empty.stdout.contains("meteo demo"))
        let json = try await MeteoProcess.run(["analyze", "--format", "json", "--data-dir", dir.path])
        #expect(json.status == 0, "an empty selection is a valid JSON report")
        #expect((try? JSONValue.parse(json.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))?["observations"]?["count"] == .number(0))
    }
}
