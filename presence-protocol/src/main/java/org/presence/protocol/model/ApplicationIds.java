package org.presence.protocol.model;

import java.util.Arrays;
import java.util.StringJoiner;

/**
 * An immutable set of application ids, as a device sends it in {@code application_ids}: positive
 * integers, kept sorted and without repeats in one small {@code long[]} (no boxing), so that a
 * session holding its list costs a few bytes per id.
 *
 * <p>A device that sends no list is represented by {@code null} where this type is used, never by
 * an empty set: an empty set means "no application", the absent list "every granted application".
 */
public final class ApplicationIds {
  /** The empty set. */
  public static final ApplicationIds NONE = new ApplicationIds(new long[0]);

  private final long[] ids;

  private ApplicationIds(long[] sortedUnique) {
    this.ids = sortedUnique;
  }

  /**
   * The set of the first {@code count} values of {@code values}, which must all be positive; the
   * array is not kept.
   *
   * @throws IllegalArgumentException when a value is not positive
   */
  public static ApplicationIds of(long[] values, int count) {
    if (count == 0) {
      return NONE;
    }
    long[] copy = Arrays.copyOf(values, count);
    Arrays.sort(copy);
    if (copy[0] <= 0) {
      throw new IllegalArgumentException("application ids must be positive: " + copy[0]);
    }
    int n = 1;
    for (int i = 1; i < copy.length; i++) {
      if (copy[i] != copy[n - 1]) {
        copy[n++] = copy[i];
      }
    }
    return new ApplicationIds(n == copy.length ? copy : Arrays.copyOf(copy, n));
  }

  /** The set of {@code values}. */
  public static ApplicationIds of(long... values) {
    return of(values, values.length);
  }

  /** How many ids. */
  public int size() {
    return ids.length;
  }

  /** Whether there is none. */
  public boolean isEmpty() {
    return ids.length == 0;
  }

  /** The id at {@code index} in ascending order. */
  public long get(int index) {
    return ids[index];
  }

  /** Whether {@code appId} is in the set. */
  public boolean contains(long appId) {
    return Arrays.binarySearch(ids, appId) >= 0;
  }

  /** The ids in ascending order, as a new array. */
  public long[] toArray() {
    return ids.clone();
  }

  /** The ids joined with commas ({@code 421,492}), the form the store keeps. */
  public String toCsv() {
    StringJoiner j = new StringJoiner(",");
    for (long id : ids) {
      j.add(Long.toString(id));
    }
    return j.toString();
  }

  /**
   * The set written by {@link #toCsv()}.
   *
   * @throws IllegalArgumentException when {@code csv} is not a comma-separated list of positive
   *     integers
   */
  public static ApplicationIds fromCsv(String csv) {
    if (csv.isEmpty()) {
      return NONE;
    }
    String[] parts = csv.split(",", -1);
    long[] values = new long[parts.length];
    for (int i = 0; i < parts.length; i++) {
      values[i] = Long.parseLong(parts[i].trim());
    }
    return of(values, values.length);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ApplicationIds other && Arrays.equals(ids, other.ids);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(ids);
  }

  @Override
  public String toString() {
    return Arrays.toString(ids);
  }
}
