/**
 * The PowerShell host a script talks to when it calls Read-Host, Write-Host, Get-Credential or
 * $Host.UI.PromptForChoice on the server (MS-PSRP 2.2.3.17 host methods). Implement the methods
 * you want to answer; an unimplemented method gets an error response (never a hang).
 */
import { createPSObject, PSSecureString, psMeta } from '../clixml/index.js';
import type { HostCall } from '../psrp/runspace-pool-core.js';

export interface PSHostCredential {
  readonly username: string;
  readonly password: string;
}

export interface PSHostChoice {
  readonly label: string;
  readonly helpMessage: string | undefined;
}

export interface PSHost {
  readonly name?: string;
  readLine?(): string | Promise<string>;
  readLineAsSecureString?(): string | Promise<string>;
  write?(text: string): void;
  writeLine?(text: string): void;
  writeErrorLine?(text: string): void;
  writeWarningLine?(text: string): void;
  writeVerboseLine?(text: string): void;
  writeDebugLine?(text: string): void;
  /** Prompt: field names → values. */
  prompt?(caption: string, message: string, fields: readonly string[]): Record<string, unknown> | Promise<Record<string, unknown>>;
  promptForCredential?(caption: string, message: string, userName: string, targetName: string): PSHostCredential | Promise<PSHostCredential>;
  /** Returns the index of the chosen option. */
  promptForChoice?(caption: string, message: string, choices: readonly PSHostChoice[], defaultChoice: number): number | Promise<number>;
}

const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

function hostError(message: string): Record<string, unknown> {
  return createPSObject({
    typeNames: ['System.Management.Automation.ErrorRecord', 'System.Object'],
    toStringValue: message,
    extendedProperties: {
      Exception: createPSObject({
        typeNames: ['System.Management.Automation.Host.HostException', 'System.Exception', 'System.Object'],
        toStringValue: message,
        properties: { Message: message },
      }),
      TargetObject: null,
      FullyQualifiedErrorId: 'HostMethodNotImplemented',
      ErrorCategory_Category: 11,
      ErrorCategory_Activity: '',
      ErrorCategory_Reason: 'HostException',
      ErrorCategory_TargetName: '',
      ErrorCategory_TargetType: '',
      ErrorCategory_Message: `NotImplemented: (:) [], HostException`,
      SerializeExtendedInfo: false,
      ErrorDetails_Message: message,
    },
  });
}

/**
 * Runs a host call against `host`. Returns `{ value }` or `{ error }` for the response, or
 * undefined for void methods (no response is sent).
 */
export async function answerHostCall(
  host: PSHost | undefined,
  call: HostCall,
): Promise<{ value: unknown } | { error: unknown } | undefined> {
  const a = call.args;
  try {
    switch (call.method) {
      case 'GetName':
        return { value: host?.name ?? 'psrp' };
      case 'ReadLine':
        if (host?.readLine) return { value: await host.readLine() };
        break;
      case 'ReadLineAsSecureString':
        if (host?.readLineAsSecureString) return { value: PSSecureString.fromPlainText(await host.readLineAsSecureString()) };
        break;
      case 'Write1':
      case 'Write2':
        host?.write?.(str(a.at(-1)));
        return undefined;
      case 'WriteLine1':
        host?.writeLine?.('');
        return undefined;
      case 'WriteLine2':
      case 'WriteLine3':
        host?.writeLine?.(str(a.at(-1)));
        return undefined;
      case 'WriteErrorLine':
        host?.writeErrorLine?.(str(a[0]));
        return undefined;
      case 'WriteWarningLine':
        host?.writeWarningLine?.(str(a[0]));
        return undefined;
      case 'WriteVerboseLine':
        host?.writeVerboseLine?.(str(a[0]));
        return undefined;
      case 'WriteDebugLine':
        host?.writeDebugLine?.(str(a[0]));
        return undefined;
      case 'Prompt': {
        // Read-Host "Name" arrives as Prompt with one field; answer with readLine when there is no prompt().
        const fields = Array.isArray(a[2])
          ? (a[2] as unknown[]).map((d) => {
              const r = (d ?? {}) as Record<string, unknown>;
              return str(r['name'] ?? r['Name'] ?? psMeta(d)?.toStringValue);
            })
          : [];
        if (host?.prompt) return { value: new Map(Object.entries(await host.prompt(str(a[0]), str(a[1]), fields))) };
        if (host?.readLine) {
          const answers = new Map<string, unknown>();
          for (const f of fields) answers.set(f, await host.readLine());
          return { value: answers };
        }
        break;
      }
      case 'PromptForCredential1':
      case 'PromptForCredential2':
        if (host?.promptForCredential) {
          const c = await host.promptForCredential(str(a[0]), str(a[1]), str(a[2]), str(a[3]));
          return {
            value: createPSObject({
              typeNames: ['System.Management.Automation.PSCredential', 'System.Object'],
              properties: { UserName: c.username, Password: PSSecureString.fromPlainText(c.password) },
            }),
          };
        }
        break;
      case 'PromptForChoice':
        if (host?.promptForChoice) {
          const choices = Array.isArray(a[2])
            ? (a[2] as unknown[]).map((c) => {
                const r = (c ?? {}) as Record<string, unknown>;
                return { label: str(r['label'] ?? r['Label']), helpMessage: r['helpMessage'] === undefined ? undefined : str(r['helpMessage']) };
              })
            : [];
          return { value: await host.promptForChoice(str(a[0]), str(a[1]), choices, Number(a[3] ?? -1)) };
        }
        break;
      default:
        if (call.isVoid) return undefined;
    }
  } catch (e) {
    return { error: hostError(`The host method ${call.method ?? call.methodId} failed: ${(e as Error).message}`) };
  }
  if (call.isVoid) return undefined;
  return { error: hostError(`The host method ${call.method ?? call.methodId} is not implemented by this client`) };
}
