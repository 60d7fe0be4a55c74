package org.presence.store.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.presence.protocol.model.ApplicationIds;

class PackedArgsTest {

  /** The MessagePack subset PackedArgs writes, read back: strings as byte[], integers as Long. */
  private static List<Object> unpack(byte[] packed) throws IOException {
    DataInputStream in = new DataInputStream(new ByteArrayInputStream(packed));
    assertThat(in.readUnsignedByte()).isEqualTo(0xdd);
    int n = in.readInt();
    List<Object> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      int t = in.readUnsignedByte();
      int len;
      if (t < 0x80) {
        out.add((long) t);
        continue;
      } else if (t == 0xce) {
        out.add(in.readInt() & 0xffffffffL);
        continue;
      } else if (t == 0xcf) {
        out.add(in.readLong());
        continue;
      } else if ((t & 0xe0) == 0xa0) {
        len = t & 0x1f;
      } else if (t == 0xd9) {
        len = in.readUnsignedByte();
      } else if (t == 0xda) {
        len = in.readUnsignedShort();
      } else if (t == 0xdb) {
        len = in.readInt();
      } else {
        throw new IOException("unexpected type " + t);
      }
      byte[] b = new byte[len];
      in.readFully(b);
      out.add(b);
    }
    assertThat(in.available()).as("nothing after the array").isZero();
    return out;
  }

  @Test
  void valuesComeBackInOrder_withTheirTypes() throws IOException {
    UUID id = UUID.randomUUID();
    PackedArgs p = new PackedArgs(1);
    p.integer(0)
        .integer(127)
        .integer(128)
        .integer(0xffffffffL)
        .integer(1_800_000_000_000L)
        .decimal(Long.MAX_VALUE)
        .decimal(-42)
        .decimal(0)
        .uuid(id)
        .csv(ApplicationIds.of(421, 9, 1L << 40))
        .csv(ApplicationIds.NONE)
        .string(null)
        .string("x".repeat(31))
        .string("y".repeat(32))
        .string("z".repeat(300))
        .string("w".repeat(70_000))
        .bytes(new byte[] {0, '\n', (byte) 0xff});
    assertThat(p.count()).isEqualTo(17);
    List<Object> v = unpack(p.end());
    assertThat(v.subList(0, 5)).containsExactly(0L, 127L, 128L, 0xffffffffL, 1_800_000_000_000L);
    List<String> texts = new ArrayList<>();
    for (Object o : v.subList(5, 16)) {
      texts.add(new String((byte[]) o, StandardCharsets.UTF_8));
    }
    assertThat(texts)
        .containsExactly(
            Long.toString(Long.MAX_VALUE),
            "-42",
            "0",
            id.toString(),
            ApplicationIds.of(421, 9, 1L << 40).toCsv(),
            "",
            "",
            "x".repeat(31),
            "y".repeat(32),
            "z".repeat(300),
            "w".repeat(70_000));
    assertThat((byte[]) v.get(16)).containsExactly(0, '\n', (byte) 0xff);
  }

  /** Any text, unpaired surrogates included, comes out as String.getBytes(UTF_8) writes it. */
  @Test
  void strings_areTheirUtf8Bytes() throws IOException {
    Random random = new Random(13);
    List<String> cases =
        new ArrayList<>(List.of("", "é", "€", "😀", "a\uD800b", "\uDC00", "\uD83D"));
    for (int i = 0; i < 500; i++) {
      StringBuilder sb = new StringBuilder();
      int n = random.nextInt(40);
      for (int j = 0; j < n; j++) {
        sb.append((char) (random.nextBoolean() ? random.nextInt(0x80) : random.nextInt(0x10000)));
      }
      cases.add(sb.toString());
    }
    PackedArgs p = new PackedArgs(8);
    cases.forEach(p::string);
    List<Object> v = unpack(p.end());
    for (int i = 0; i < cases.size(); i++) {
      assertThat((byte[]) v.get(i))
          .as("case %d", i)
          .containsExactly(cases.get(i).getBytes(StandardCharsets.UTF_8));
    }
  }
}
