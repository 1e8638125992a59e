import Foundation
import Node
import XCTest

/// Renders a report page in headless Chromium (Debian's `chromium`) and counts, inside each plot area
/// (found by its background colour), the pixels of drawn lines: saturated colours that are neither the
/// background nor the white grid.
enum SiteReportScreenshot {
    static func plotPixels(page: String, in directory: URL) throws -> [String: Int] {
        let chromium = try ExternalTool.require("chromium", package: "chromium")
        // Debian's python3, where python3-pil installs (a python3 of pyenv's earlier on PATH has no PIL).
        let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : try ExternalTool.require("python3", package: "python3")
        let png = directory.appendingPathComponent("report.png").path
        let profile = directory.appendingPathComponent("chromium-profile").path
        let shot = try ExternalTool.run(chromium, [
            "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir=\(profile)",
            "--screenshot=\(png)", "--window-size=1400,1800", "file://\(page)",
        ], timeout: 60)
        guard FileManager.default.fileExists(atPath: png) else {
            throw NodeStartError(message: "chromium wrote no screenshot (status \(shot.status)): \(shot.stderr.suffix(500))")
        }
        // For the README's picture: `FLEETCTL_REPORT_SCREENSHOT=docs/site-report.png swift test --filter FleetHealthTests`.
        if let keep = ProcessInfo.processInfo.environment["FLEETCTL_REPORT_SCREENSHOT"] {
            try? FileManager.default.removeItem(atPath: keep)
            try? FileManager.default.copyItem(atPath: png, toPath: keep)
        }
        let script = """
            import json, sys
            from PIL import Image
            image = Image.open(sys.argv[1]).convert("RGB")
            width, height = image.size
            pixels = image.load()
            result = {}
            for name in sys.argv[2:]:
                target = tuple(int(name[i:i + 2], 16) for i in (1, 3, 5))
                xs, ys = [], []
                for y in range(height):
                    for x in range(0, width, 2):
                        if pixels[x, y] == target:
                            xs.append(x); ys.append(y)
                if not xs:
                    result[name] = 0
                    continue
                count = 0
                for y in range(min(ys), max(ys) + 1):
                    for x in range(min(xs), max(xs) + 1):
                        r, g, b = pixels[x, y]
                        if max(r, g, b) - min(r, g, b) > 60 and (r, g, b) != target:
                            count += 1
                result[name] = count
            print(json.dumps(result))
            """
        let scriptPath = directory.appendingPathComponent("plots.py").path
        try script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        let analysed = try ExternalTool.run(python, [scriptPath, png, "#eaf2fb", "#fbeeea", "#ecf7ec"], timeout: 120)
        guard analysed.status == 0, let counts = try JSONSerialization.jsonObject(with: Data(analysed.stdout.utf8)) as? [String: Int] else {
            throw NodeStartError(message: "screenshot analysis failed: \(analysed.stderr)")
        }
        return counts
    }
}
