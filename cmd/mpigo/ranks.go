package main

import (
	"context"
	"encoding/json"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/goeval"
	"github.com/mpigo/mpigo/gomod"
	"github.com/mpigo/mpigo/interpbuild"
	"github.com/mpigo/mpigo/kernel"
	"github.com/mpigo/mpigo/mpimagic"
	"github.com/mpigo/mpigo/mpimagic/build"
	"github.com/mpigo/mpigo/mpimagic/environ"
	"github.com/mpigo/mpigo/worker"
)

// rankBuilder builds the rank interpreter of %ranks with b: package mpi
// compiled in for the MPI of tc, and the packages compiled into the
// plain-cell interpreter (engine's), at the session's versions.
func rankBuilder(b *interpbuild.Builder, mods *gomod.Session, engine func() *worker.Engine) mpimagic.RankBuilder {
	return func(ctx context.Context, tc *build.Toolchain, _ environ.Env, progress func(string)) ([]string, []string, error) {
		tags, env, fp := tc.ForInterpreter()
		pkgs := engine().Packages()
		it, err := b.BuildRank(ctx, mods, pkgs, interpbuild.RankToolchain{Tags: tags, Env: env, Fingerprint: fp},
			func(st interpbuild.Stage, _ []gomod.Package) { progress(st.String()) })
		if err != nil {
			return nil, nil, err
		}
		return it.Command, pkgs, nil
	}
}

// setOut puts the ranks' values of %px --out into the engine's session.
func setOut(engine func() *worker.Engine) func(context.Context, string, []goeval.CarriedVar, []json.RawMessage) error {
	return func(ctx context.Context, name string, vals []goeval.CarriedVar, jsons []json.RawMessage) error {
		return engine().SetSlice(ctx, name, vals, jsons)
	}
}

// pxMagic adapts %px to the kernel.
func pxMagic(m *mpimagic.Magic) kernel.CellMagic {
	return func(ctx context.Context, args []string, body string, out cellio.Output) (cellio.Result, error) {
		count, _ := kernel.ExecutionCount(ctx)
		return m.Px(ctx, count, args, body, out)
	}
}

// ranksMagic is %ranks.
func ranksMagic(m *mpimagic.Magic) kernel.LineMagic {
	return kernel.LineMagic{
		Run: m.Ranks,
		Doc: kernel.MagicDoc{
			Usage:   "%ranks start -n N [...] | stop | restart",
			Desc:    "start MPI ranks that stay, for %px cells; %ranks alone lists them (%ranks --help)",
			Example: "%ranks start -n 4",
		},
	}
}
