package org.presence.gateway.connection;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The annotated class's code runs on a Netty event loop (that of the channel it works for), so it
 * must never block: one loop serves many connections. Unless its javadoc says otherwise it is not
 * thread-safe either, and other threads reach it by a task on that loop (the few methods they may
 * call are named there). Two checks keep the rule: {@code architecture/EventLoopRulesTest}
 * (ArchUnit) fails the build when an annotated class calls a blocking method itself (a wait on a
 * future, a sleep, a latch's or lock's wait, JDBC, file I/O, a DNS lookup), and BlockHound fails
 * any test during which a blocking call ran on an event loop, through whatever code
 * (docs/architecture.md, Threads).
 */
@Documented
@Retention(RetentionPolicy.CLASS)
@Target(ElementType.TYPE)
public @interface OnEventLoop {}
