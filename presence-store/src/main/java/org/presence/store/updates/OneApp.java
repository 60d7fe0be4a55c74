package org.presence.store.updates;

import java.util.AbstractMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * An unmodifiable map of one application's entry: what a status change seen by one application (the
 * usual case) carries from the fan-out through the publisher and the log. Those read its {@link
 * #app} and {@link #value} directly, and {@link #forEach} makes no entry object: {@code Map.of(k,
 * v)} makes one each time its entries are walked.
 *
 * @param <V> the application's value
 */
public final class OneApp<V> extends AbstractMap<Long, V> {
  private final Long app;
  private final V value;

  private OneApp(Long app, V value) {
    this.app = Objects.requireNonNull(app, "app");
    this.value = Objects.requireNonNull(value, "value");
  }

  /** The map of {@code app} to {@code value}. */
  public static <V> OneApp<V> of(Long app, V value) {
    return new OneApp<>(app, value);
  }

  /** The one key. */
  public Long app() {
    return app;
  }

  /** The one value. */
  public V value() {
    return value;
  }

  @Override
  public int size() {
    return 1;
  }

  @Override
  public boolean isEmpty() {
    return false;
  }

  @Override
  public boolean containsKey(Object key) {
    return app.equals(key);
  }

  @Override
  public boolean containsValue(Object v) {
    return value.equals(v);
  }

  @Override
  public V get(Object key) {
    return app.equals(key) ? value : null;
  }

  @Override
  public V getOrDefault(Object key, V defaultValue) {
    return app.equals(key) ? value : defaultValue;
  }

  @Override
  public void forEach(BiConsumer<? super Long, ? super V> action) {
    action.accept(app, value);
  }

  @Override
  public Set<Map.Entry<Long, V>> entrySet() {
    return Set.of(Map.entry(app, value));
  }
}
