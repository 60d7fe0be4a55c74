package org.presence.gateway.testing;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.handler.codec.dns.DatagramDnsQuery;
import io.netty.handler.codec.dns.DatagramDnsQueryDecoder;
import io.netty.handler.codec.dns.DatagramDnsResponse;
import io.netty.handler.codec.dns.DatagramDnsResponseEncoder;
import io.netty.handler.codec.dns.DefaultDnsRawRecord;
import io.netty.handler.codec.dns.DnsQuestion;
import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.handler.codec.dns.DnsResponseCode;
import io.netty.handler.codec.dns.DnsSection;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A tiny name server for tests, on UDP 127.0.0.1: answers A records and TXT records it was told,
 * NXDOMAIN for other names, and nothing at all (a silent server) for names under the silent
 * suffixes. Records every question it got, as {@code TYPE name}.
 */
public final class DnsStub implements AutoCloseable {
  private final EventLoopGroup group =
      new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final Channel channel;
  private final Map<String, byte[]> a = new ConcurrentHashMap<>();
  private final Map<String, List<String>> txt = new ConcurrentHashMap<>();
  private final Set<String> silent = ConcurrentHashMap.newKeySet();
  private final List<String> questions = new CopyOnWriteArrayList<>();

  private DnsStub() throws InterruptedException {
    channel =
        new Bootstrap()
            .group(group)
            .channel(NioDatagramChannel.class)
            .handler(
                new io.netty.channel.ChannelInitializer<NioDatagramChannel>() {
                  @Override
                  protected void initChannel(NioDatagramChannel ch) {
                    ch.pipeline()
                        .addLast(new DatagramDnsQueryDecoder())
                        .addLast(new DatagramDnsResponseEncoder())
                        .addLast(new Answerer());
                  }
                })
            .bind(new InetSocketAddress("127.0.0.1", 0))
            .sync()
            .channel();
  }

  /** Starts a server on a free UDP port of 127.0.0.1. */
  public static DnsStub start() {
    try {
      return new DnsStub();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** {@code 127.0.0.1:port}, for {@code outbound.dns-servers}. */
  public String address() {
    return "127.0.0.1:" + ((InetSocketAddress) channel.localAddress()).getPort();
  }

  /** {@code name} has the A record 127.0.0.1. */
  public DnsStub loopback(String name) {
    a.put(norm(name), new byte[] {127, 0, 0, 1});
    return this;
  }

  /** {@code name} has a TXT record holding {@code text} (in strings of at most 255 bytes). */
  public DnsStub txt(String name, String text) {
    txt.computeIfAbsent(norm(name), k -> new CopyOnWriteArrayList<>()).add(text);
    return this;
  }

  /** Questions about {@code suffix} and the names under it get no answer. */
  public DnsStub silent(String suffix) {
    silent.add(norm(suffix));
    return this;
  }

  /** Questions received, as {@code TYPE name}. */
  public List<String> questions() {
    return List.copyOf(questions);
  }

  private static String norm(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
  }

  private final class Answerer extends SimpleChannelInboundHandler<DatagramDnsQuery> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, DatagramDnsQuery q) {
      DnsQuestion question = q.recordAt(DnsSection.QUESTION);
      if (question == null) {
        return;
      }
      String name = norm(question.name());
      questions.add(question.type().name() + " " + name);
      for (String s : silent) {
        if (name.equals(s) || name.endsWith("." + s)) {
          return; // a name server that never answers
        }
      }
      DatagramDnsResponse r = new DatagramDnsResponse(q.recipient(), q.sender(), q.id());
      r.setRecursionAvailable(true);
      r.addRecord(
          DnsSection.QUESTION,
          new io.netty.handler.codec.dns.DefaultDnsQuestion(question.name(), question.type()));
      boolean known = a.containsKey(name) || txt.containsKey(name);
      if (!known) {
        r.setCode(DnsResponseCode.NXDOMAIN);
      } else if (question.type() == DnsRecordType.A && a.containsKey(name)) {
        r.addRecord(
            DnsSection.ANSWER,
            new DefaultDnsRawRecord(
                question.name(), DnsRecordType.A, 60, Unpooled.wrappedBuffer(a.get(name))));
      } else if (question.type() == DnsRecordType.TXT && txt.containsKey(name)) {
        for (String t : txt.get(name)) {
          r.addRecord(
              DnsSection.ANSWER,
              new DefaultDnsRawRecord(question.name(), DnsRecordType.TXT, 60, txtData(t)));
        }
      }
      ctx.writeAndFlush(r);
    }
  }

  private static ByteBuf txtData(String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    ByteBuf out = Unpooled.buffer(bytes.length + bytes.length / 255 + 1);
    for (int i = 0; i < bytes.length || i == 0; i += 255) {
      int n = Math.min(255, bytes.length - i);
      out.writeByte(n);
      out.writeBytes(bytes, i, n);
    }
    return out;
  }

  @Override
  public void close() {
    channel.close().awaitUninterruptibly(2000);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(3000);
  }
}
