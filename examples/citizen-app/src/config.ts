/** How this copy of the app talks to its server, read from `config.json` beside the app at start-up. */
export interface AppConfig {
  /** The GraphQL endpoint. */
  graphqlUrl: string;
  /** The server runs trusted documents only: send each operation's id, never its text. */
  trustedDocuments: boolean;
  /** The server offers the development sign-in (`/demo/citizens`, `/demo/token`). */
  demoSignIn: boolean;
}

// A server that serves no config.json (the app hosted elsewhere) is taken to be a production one.
const DEFAULTS: AppConfig = { graphqlUrl: '/graphql', trustedDocuments: true, demoSignIn: false };

export async function loadConfig(): Promise<AppConfig> {
  try {
    const response = await fetch(`${import.meta.env.BASE_URL}config.json`, { headers: { accept: 'application/json' } });
    if (!response.ok) return DEFAULTS;
    return { ...DEFAULTS, ...((await response.json()) as Partial<AppConfig>) };
  } catch {
    return DEFAULTS;
  }
}
