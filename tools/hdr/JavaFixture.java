import java.nio.ByteBuffer;
import java.util.Base64;
import org.HdrHistogram.Histogram;

// Prints HdrHistogram Java's compressed V2 Base64 encodings of the histograms of
// tests/unit/test_hdr_encoding.cpp's fixtures, in ringload's layout (1, 2^37 - 1, 3).
public class JavaFixture {
  static String encode(Histogram h) {
    ByteBuffer b = ByteBuffer.allocate(h.getNeededByteBufferCapacity());
    int n = h.encodeIntoCompressedByteBuffer(b);
    byte[] out = new byte[n];
    b.rewind();
    b.get(out);
    return Base64.getEncoder().encodeToString(out);
  }
  static Histogram make() { return new Histogram(1, (1L << 37) - 1, 3); }
  public static void main(String[] args) {
    Histogram empty = make();
    System.out.println("empty " + encode(empty));
    Histogram edges = make();
    long[][] vc = {{0, 3}, {1, 1}, {1000, 10000}, {2047, 1}, {2048, 2}, {2049, 1}, {4095, 1}, {4096, 1},
                   {65535, 1}, {1000000, 7}, {123456789, 1}, {(1L << 37) - 1, 2}};
    for (long[] p : vc) edges.recordValueWithCount(p[0], p[1]);
    System.out.println("edges " + encode(edges));
    Histogram spread = make();
    for (long k = 0; k < 1000; ++k) spread.recordValue((k * k * 7919) % 1000000000L + k);
    System.out.println("spread " + encode(spread));
  }
}
