package org.presence.gateway.pages;

import com.samskivert.mustache.Mustache;
import com.samskivert.mustache.Template;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The page templates: Mustache files under {@code pages/} on the class path, compiled once, with
 * partials ({@code {{>header}}}) from the same place. Every {@code {{value}}} is HTML-escaped
 * (jmustache's default escaper: {@code & < > " ' ` =}); the templates never use the unescaped
 * forms, so a user's text can never become markup. A missing variable is an error, not an empty
 * string, so a typo in a template fails its test.
 */
public final class Templates {
  private static final String DIR = "pages/";

  private final Mustache.Compiler compiler;
  private final Map<String, Template> compiled = new ConcurrentHashMap<>();

  public Templates() {
    this.compiler =
        Mustache.compiler()
            .withLoader(Templates::open)
            .nullValue("")
            .emptyStringIsFalse(true)
            .withEscaper(com.samskivert.mustache.Escapers.HTML);
  }

  private static Reader open(String name) {
    InputStream in = Templates.class.getClassLoader().getResourceAsStream(DIR + name + ".mustache");
    if (in == null) {
      throw new IllegalArgumentException("no template " + name);
    }
    return new InputStreamReader(in, StandardCharsets.UTF_8);
  }

  /** Renders template {@code name} with {@code model}. */
  public String render(String name, Object model) {
    return compiled.computeIfAbsent(name, n -> compiler.compile(open(n))).execute(model);
  }
}
