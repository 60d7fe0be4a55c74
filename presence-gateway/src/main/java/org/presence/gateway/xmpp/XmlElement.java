package org.presence.gateway.xmpp;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One element of a stanza as {@link StanzaDecoder} read it: name, namespace, attributes, children
 * and text. Built per stanza (never per stream) and dropped once the stanza is handled; its size is
 * bounded by {@code xmpp.max-stanza-bytes} and {@code xmpp.max-depth}.
 */
final class XmlElement {
  private final String name;
  private final String namespace;
  private final Map<String, String> attributes = new LinkedHashMap<>(4);
  private final List<XmlElement> children = new ArrayList<>(2);
  private StringBuilder text;

  XmlElement(String name, String namespace) {
    this.name = name;
    this.namespace = namespace == null ? "" : namespace;
  }

  String name() {
    return name;
  }

  String namespace() {
    return namespace;
  }

  /** Whether this is {@code <name xmlns='namespace'>}. */
  boolean is(String name, String namespace) {
    return this.name.equals(name) && this.namespace.equals(namespace);
  }

  /** An attribute by its qualified name ({@code type}, {@code xml:lang}), or {@code null}. */
  String attr(String qualifiedName) {
    return attributes.get(qualifiedName);
  }

  void attr(String qualifiedName, String value) {
    attributes.put(qualifiedName, value);
  }

  List<XmlElement> children() {
    return children;
  }

  void add(XmlElement child) {
    children.add(child);
  }

  /** The first child named {@code name} in {@code namespace}, or {@code null}. */
  XmlElement child(String name, String namespace) {
    for (XmlElement c : children) {
      if (c.is(name, namespace)) {
        return c;
      }
    }
    return null;
  }

  /** The text directly inside this element (empty when none). */
  String text() {
    return text == null ? "" : text.toString();
  }

  void appendText(String s) {
    if (text == null) {
      text = new StringBuilder(s.length());
    }
    text.append(s);
  }
}
