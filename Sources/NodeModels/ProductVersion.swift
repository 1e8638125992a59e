/// The product's version, reported by both executables and in status.
public enum ProductVersion {
    public static let current = "0.1.0"
}
