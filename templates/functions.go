// Package templates holds hako's expression function library (the cty
// standard library under the names Terraform users know, plus file and
// template functions) and renders template files.
package templates

import (
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// Functions returns the functions a plan can call. Paths given to file,
// fileexists and templatefile are relative to baseDir (the plan directory).
func Functions(baseDir string) map[string]function.Function {
	fns := baseFunctions(baseDir)
	fns["templatefile"] = templateFileFunc(baseDir, func() map[string]function.Function {
		// A template cannot call templatefile itself: no recursion.
		return baseFunctions(baseDir)
	})
	return fns
}

func baseFunctions(baseDir string) map[string]function.Function {
	fns := map[string]function.Function{
		// strings
		"format": stdlib.FormatFunc, "formatlist": stdlib.FormatListFunc,
		"join": stdlib.JoinFunc, "split": stdlib.SplitFunc,
		"upper": stdlib.UpperFunc, "lower": stdlib.LowerFunc, "title": stdlib.TitleFunc,
		"trimspace": stdlib.TrimSpaceFunc, "trim": stdlib.TrimFunc,
		"trimprefix": stdlib.TrimPrefixFunc, "trimsuffix": stdlib.TrimSuffixFunc,
		"chomp": stdlib.ChompFunc, "indent": stdlib.IndentFunc,
		"replace": stdlib.ReplaceFunc, "regex": stdlib.RegexFunc,
		"regexall": stdlib.RegexAllFunc, "regexreplace": stdlib.RegexReplaceFunc,
		"substr": stdlib.SubstrFunc, "strlen": stdlib.StrlenFunc, "strrev": stdlib.ReverseFunc,
		"startswith": startsWithFunc, "endswith": endsWithFunc, "strcontains": strContainsFunc,
		// collections
		"concat": stdlib.ConcatFunc, "merge": stdlib.MergeFunc, "lookup": stdlib.LookupFunc,
		"length": stdlib.LengthFunc, "keys": stdlib.KeysFunc, "values": stdlib.ValuesFunc,
		"contains": stdlib.ContainsFunc, "distinct": stdlib.DistinctFunc,
		"flatten": stdlib.FlattenFunc, "compact": stdlib.CompactFunc,
		"element": stdlib.ElementFunc, "slice": stdlib.SliceFunc, "sort": stdlib.SortFunc,
		"reverse": stdlib.ReverseListFunc, "range": stdlib.RangeFunc,
		"chunklist": stdlib.ChunklistFunc, "zipmap": stdlib.ZipmapFunc,
		"coalesce": stdlib.CoalesceFunc, "coalescelist": stdlib.CoalesceListFunc,
		"setunion": stdlib.SetUnionFunc, "setintersection": stdlib.SetIntersectionFunc,
		"setsubtract": stdlib.SetSubtractFunc, "setproduct": stdlib.SetProductFunc,
		// encoding
		"jsonencode": stdlib.JSONEncodeFunc, "jsondecode": stdlib.JSONDecodeFunc,
		"csvdecode":    stdlib.CSVDecodeFunc,
		"base64encode": base64EncodeFunc, "base64decode": base64DecodeFunc,
		"sha256": sha256Func, "sha1": sha1Func, "md5": md5Func,
		// numbers and time
		"abs": stdlib.AbsoluteFunc, "ceil": stdlib.CeilFunc, "floor": stdlib.FloorFunc,
		"log": stdlib.LogFunc, "max": stdlib.MaxFunc, "min": stdlib.MinFunc,
		"pow": stdlib.PowFunc, "signum": stdlib.SignumFunc, "parseint": stdlib.ParseIntFunc,
		"formatdate": stdlib.FormatDateFunc, "timeadd": stdlib.TimeAddFunc,
		// types
		"tostring": stdlib.MakeToFunc(cty.String), "tonumber": stdlib.MakeToFunc(cty.Number),
		"tobool": stdlib.MakeToFunc(cty.Bool), "tolist": stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"tomap": stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)), "toset": stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		"try": tryfunc.TryFunc, "can": tryfunc.CanFunc,
		// files, relative to the plan directory
		"file": fileFunc(baseDir), "fileexists": fileExistsFunc(baseDir),
	}
	return fns
}
