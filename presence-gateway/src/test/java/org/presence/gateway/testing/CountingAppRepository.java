package org.presence.gateway.testing;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.presence.store.app.AppRepository;

/**
 * A real {@link AppRepository} that also notes its reads: each {@code find} and {@code findAll} is
 * one database call, so a test can tell how many calls a cache or a list made and for which ids.
 * Every call goes to the real repository; nothing is answered here.
 */
public final class CountingAppRepository {
  /** One read: the method and the ids it named. */
  public record Read(String method, List<Long> ids) {}

  /** The reads made so far, in order. */
  public final List<Read> reads = new CopyOnWriteArrayList<>();

  /** The counting repository, over {@code real}. */
  public final AppRepository apps;

  public CountingAppRepository(AppRepository real) {
    this.apps =
        (AppRepository)
            Proxy.newProxyInstance(
                AppRepository.class.getClassLoader(),
                new Class<?>[] {AppRepository.class},
                (proxy, method, args) -> {
                  if (method.getName().equals("find")) {
                    reads.add(new Read("find", List.of((Long) args[0])));
                  } else if (method.getName().equals("findAll")) {
                    @SuppressWarnings("unchecked")
                    Collection<Long> ids = (Collection<Long>) args[0];
                    reads.add(new Read("findAll", List.copyOf(ids)));
                  }
                  try {
                    return method.invoke(real, args);
                  } catch (InvocationTargetException e) {
                    throw e.getCause();
                  }
                });
  }

  /** Forgets the reads noted so far. */
  public void clear() {
    reads.clear();
  }
}
