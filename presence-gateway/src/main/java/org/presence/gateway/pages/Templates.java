package org.presence.gateway.pages;

import com.samskivert.mustache.Escapers;
import com.samskivert.mustache.Mustache;
import com.samskivert.mustache.Template;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * The page templates: Mustache files under {@code pages/} on the class path, read and compiled once
 * at start (partials such as {@code {{>header}}} come from the same in-memory set), so no request
 * ever reads a file. Every {@code {{value}}} is HTML-escaped (jmustache's HTML escaper: {@code & <
 * > " ' ` =}); the templates never use the unescaped forms, so a user's text can never become
 * markup. A missing variable is an error, not an empty string, so a typo in a template fails its
 * test.
 */
public final class Templates {
  private static final String DIR = "pages/";
  private static final String[] PAGES = {
    "home", "signin", "error", "myapps", "app", "grant", "settings", "demo", "pair"
  };
  private static final String[] PARTIALS = {"header", "footer"};

  private final Map<String, String> sources = new HashMap<>();
  private final Map<String, Template> compiled = new HashMap<>();

  public Templates() {
    for (String name : PARTIALS) {
      sources.put(name, read(name));
    }
    for (String name : PAGES) {
      sources.put(name, read(name));
    }
    Mustache.Compiler compiler =
        Mustache.compiler()
            .withLoader(
                name -> {
                  String s = sources.get(name);
                  if (s == null) {
                    throw new IllegalArgumentException("no template " + name);
                  }
                  return new StringReader(s);
                })
            .nullValue("")
            .emptyStringIsFalse(true)
            .withEscaper(Escapers.HTML);
    for (String name : PAGES) {
      compiled.put(name, compiler.compile(sources.get(name)));
    }
  }

  private static String read(String name) {
    String path = DIR + name + ".mustache";
    try (InputStream in = Templates.class.getClassLoader().getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalStateException("missing template " + path);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + path, e);
    }
  }

  /** Renders page {@code name} with {@code model}. */
  public String render(String name, Object model) {
    Template t = compiled.get(name);
    if (t == null) {
      throw new IllegalArgumentException("no page " + name);
    }
    return t.execute(model);
  }
}
